/* bench helper: run a command and print its CPU time (user and system, µs, from wait4's rusage) and
 * its wall time (µs) on stderr as "USER_US SYS_US WALL_US". The command's own output is left alone.
 * SIGINT and SIGTERM are the command's: this process ignores them (send them to the command).
 * The time a BPF program spends in the command's context (a perf_event sample interrupting it, a
 * tracepoint it hits) is charged to the command, so this is what a tracer adds to it. */
#include <stdio.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct timespec a, b;
  struct rusage ru;
  int status;
  if (argc < 2) {
    fprintf(stderr, "usage: cputime COMMAND [ARG...]\n");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  fprintf(stderr, "%ld %ld %ld\n", ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec, ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec,
          (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
