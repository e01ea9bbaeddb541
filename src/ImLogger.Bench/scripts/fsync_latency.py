# The disk's fsync latency alone (docs/performance.md): an 8 KB rewrite and fsync of one file, N times.
# python3 fsync_latency.py FILE-ON-THE-SPOOL-DISK N
import os, time, sys
path = sys.argv[1]; n = int(sys.argv[2])
fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
buf = b"x" * 8192
lat = []
for i in range(n):
    os.pwrite(fd, buf, (i % 64) * 8192)
    t = time.perf_counter(); os.fsync(fd); lat.append((time.perf_counter() - t) * 1000)
os.close(fd); os.unlink(path)
lat.sort()
print(f"fsync of an 8 KB rewrite, {n} times: p50 {lat[n//2]:.3f} ms, p90 {lat[int(n*.9)]:.3f} ms, p99 {lat[int(n*.99)]:.3f} ms, max {lat[-1]:.3f} ms")
