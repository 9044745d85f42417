#!/bin/sh
# npm run test:vm -- --stall 120 --stall-retries 0 -- sh scripts/vm/lockup-stress.sh (docs/vm.md, "The soft lockup"):
# in the amd64 6.1 guest: what the tests did when the guest locked up, many times over, on both vCPUs
# phase 1: our tools attached and detached (killsnoop ended by SIGHUP, opensnoop by -d), a busy opener on each vCPU
# phase 2: the same tracepoints' static keys flipped through tracefs alone (no BPF, no tool of ours)
busy() { while :; do cat /etc/hostname >/dev/null; done; }
busy & b1=$!; busy & b2=$!
end=$(( $(date +%s) + ${P1:-420} )); i=0
while [ "$(date +%s)" -lt "$end" ]; do
  i=$((i+1))
  node_modules/.bin/killsnoop >/dev/null 2>&1 & k=$!
  node_modules/.bin/opensnoop -d 3 -n nobody >/dev/null 2>&1 & o=$!
  sleep 4; kill -HUP $k; wait $k; wait $o
  echo "stress: tools cycle $i done"
done
T=/sys/kernel/tracing/events/syscalls
end=$(( $(date +%s) + ${P2:-240} )); j=0
while [ "$(date +%s)" -lt "$end" ]; do
  for e in sys_enter_openat sys_exit_openat sys_enter_kill sys_exit_kill; do echo 1 > $T/$e/enable; done
  for e in sys_enter_openat sys_exit_openat sys_enter_kill sys_exit_kill; do echo 0 > $T/$e/enable; done
  j=$((j+1)); [ $((j % 50)) = 0 ] && echo "stress: tracefs cycle $j done"
done
kill $b1 $b2
echo "stress: $i tool cycles, $j tracefs cycles, no lockup"
