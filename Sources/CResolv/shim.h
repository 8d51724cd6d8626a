#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <string.h>

/// One DNS query through glibc's resolver with a state of its own (so /etc/resolv.conf is read
/// afresh, and calls on different threads share nothing): the search list and ndots apply as in
/// getaddrinfo. Returns the answer's length, or -1 with the resolver's h_errno in `*error`
/// (HOST_NOT_FOUND, NO_DATA, TRY_AGAIN, NO_RECOVERY) or -2 if the resolver could not start.
static inline int agentd_dns_search(const char *name, int type, unsigned char *answer, int length, int *error) {
    struct __res_state state;
    memset(&state, 0, sizeof(state));
    if (res_ninit(&state) != 0) {
        *error = 0;
        return -2;
    }
    int result = res_nsearch(&state, name, ns_c_in, type, answer, length);
    *error = state.res_h_errno;
    res_nclose(&state);
    return result;
}
