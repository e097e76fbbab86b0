// Native reference for `npm run bench:kernel`: the kernel's algorithm (interleaved complex128,
// qubit q = bit q, the same blocked index loops) in plain C++, compiled by the benchmark with
// g++ -O3 -march=native. Usage: kernel-native <ry|cx> <n> <ops> <repeats>; prints the best
// seconds per run (|0…0⟩ init + ops + parity readout) and the parity, one line each.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static void ry(double* s, int n, int t, double theta) {
  const double c = std::cos(theta / 2), sn = std::sin(theta / 2);
  const size_t dim = size_t(1) << n, half = size_t(1) << t;
  for (size_t base = 0; base < dim; base += half << 1) {
    double* a = s + 2 * base;
    double* b = s + 2 * (base + half);
    for (size_t k = 0; k < 2 * half; k++) {
      const double x = a[k], y = b[k];
      a[k] = c * x - sn * y;
      b[k] = sn * x + c * y;
    }
  }
}

static void cx(double* s, int n, int ctl, int tgt) {
  const int lo = ctl < tgt ? ctl : tgt, hi = ctl < tgt ? tgt : ctl;
  const size_t dim = size_t(1) << n, sLo = size_t(1) << lo, sHi = size_t(1) << hi;
  const size_t da = size_t(1) << ctl, db = size_t(1) << tgt;
  for (size_t i = 0; i < dim; i += sHi << 1)
    for (size_t j = i; j < i + sHi; j += sLo << 1)
      for (size_t k = j; k < j + sLo; k++) {
        double* p = s + 2 * (k + da);
        double* q = s + 2 * (k + da + db);
        const double r = p[0], m = p[1];
        p[0] = q[0]; p[1] = q[1];
        q[0] = r; q[1] = m;
      }
}

int main(int argc, char** argv) {
  if (argc != 5) { std::fprintf(stderr, "usage: kernel-native <ry|cx> <n> <ops> <repeats>\n"); return 2; }
  const bool isCx = std::strcmp(argv[1], "cx") == 0;
  const int n = std::atoi(argv[2]), ops = std::atoi(argv[3]), repeats = std::atoi(argv[4]);
  const size_t dim = size_t(1) << n;
  std::vector<double> s(2 * dim);
  double best = 1e30, parity = 0;
  for (int r = 0; r < repeats; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    std::memset(s.data(), 0, s.size() * sizeof(double));
    s[0] = 1;
    for (int i = 0; i < ops; i++) {
      const int q = i % n;
      if (isCx) cx(s.data(), n, q, (q + 1) % n);
      else ry(s.data(), n, q, 0.1 + 0.01 * i);
    }
    double even = 0, odd = 0;
    for (size_t k = 0; k < dim; k++) {
      const double p = s[2 * k] * s[2 * k] + s[2 * k + 1] * s[2 * k + 1];
      if (__builtin_popcountll(k) & 1) odd += p; else even += p;
    }
    parity = even - odd;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt < best) best = dt;
  }
  std::printf("%.9f\n%.17g\n", best, parity);
  return 0;
}
