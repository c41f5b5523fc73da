/* The cheapest fork-mode function: read the request, answer one line. Used by the
   watchdog tests and by the watchdog and invoke benchmarks, compiled with -static. */
#include <unistd.h>
int main(void) {
    char buf[65536];
    while (read(0, buf, sizeof buf) > 0) {}
    static const char reply[] = "Hello from a static C function\n";
    return write(1, reply, sizeof reply - 1) < 0;
}
