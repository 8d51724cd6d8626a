/// The web UI's files (`Sources/Agent/WebAssets/`), embedded in the binary at build time by
/// SwiftPM (`embedInCode`): no build step, no CDN, works offline, and the files stay real HTML,
/// CSS and JavaScript that editors and linters read.
enum WebAssets {
    /// `GET /`: one page, its views (Overview with the components table, Graph, a component's page,
    /// Clustering, Targets, Throughput, Ownership timeline).
    static let page = PackageResources.index_html
    /// `GET /ui/app.css`.
    static let style = PackageResources.app_css
    /// `GET /ui/app.js`.
    static let script = PackageResources.app_js
    /// `GET /ui/icon.svg`, also the favicon.
    static let icon = PackageResources.icon_svg
}
