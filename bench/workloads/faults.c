/* bench workload: page faults. faults ROUNDS PAGES: ROUNDS times, map PAGES fresh anonymous pages
 * (no huge pages), write one byte to each (one minor fault per page), unmap them. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 20, pages = argc > 2 ? atol(argv[2]) : 16384, page = sysconf(_SC_PAGESIZE);
  for (long r = 0; r < rounds; r++) {
    volatile char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || madvise((void *)p, pages * page, MADV_NOHUGEPAGE)) return 1;
    for (long i = 0; i < pages; i++) p[i * page] = 1;
    munmap((void *)p, pages * page);
  }
  return 0;
}
