# agentd in a container, for people who have Docker. Not exercised by the test suite.
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends liblz4-dev libsnappy-dev libxxhash-dev libsqlite3-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product agentd && cp "$(swift build -c release --show-bin-path)/agentd" /agentd

FROM swift:6.1-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends liblz4-1 libsnappy1v5 libxxhash0 libsqlite3-0 curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /agentd /usr/local/bin/agentd
ENTRYPOINT ["agentd"]
