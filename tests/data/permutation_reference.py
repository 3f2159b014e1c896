#!/usr/bin/python3
"""Reference permutations for tests/test_data_dataset.cpp, computed without C++.

Run: /usr/bin/python3 tests/data/permutation_reference.py
(standard library only; Python 3.11). It re-implements, from their published definitions,
MT19937-64 (Matsumoto and Nishimura, the engine std::mt19937_64 specifies), tapegrad's
Generator::below (rejection of the short last block, then x % n), the Fisher-Yates shuffle of
tapegrad::data::permutation and the epoch seed of DataLoader
(splitmix64(splitmix64(seed) ^ epoch)). The printed lists are pasted into the test.
"""

MASK = (1 << 64) - 1


class MT19937_64:
    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & MASK
        for i in range(1, 312):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK
        self.index = 312

    def twist(self):
        upper, lower = 0xFFFFFFFF80000000, 0x7FFFFFFF
        for i in range(312):
            x = (self.mt[i] & upper) | (self.mt[(i + 1) % 312] & lower)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            self.mt[i] = self.mt[(i + 156) % 312] ^ xa
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self.twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK


def below(engine, n):
    limit = MASK - MASK % n
    while True:
        x = engine()
        if x < limit:
            return x % n


def permutation(n, engine):
    p = list(range(n))
    for i in range(n, 1, -1):
        j = below(engine, i)
        p[i - 1], p[j] = p[j], p[i - 1]
    return p


def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


if __name__ == "__main__":
    # The standard's own check of the engine: the 10000th output for the default seed 5489.
    e = MT19937_64(5489)
    for _ in range(9999):
        e()
    assert e() == 9981545732273789042
    print("permutation(10, Generator(0)):", permutation(10, MT19937_64(0)))
    print("permutation(10, Generator(123)):", permutation(10, MT19937_64(123)))
    for epoch in (0, 1, 5):
        seed = splitmix64(splitmix64(7) ^ epoch)
        print(f"DataLoader seed 7, epoch {epoch}, 10 rows:", permutation(10, MT19937_64(seed)))
    # A shuffle long enough for the C++ side's draws made ahead (kAhead) to matter: its first
    # and last entries and a checksum of all of it.
    p = permutation(100000, MT19937_64(2026))
    print("permutation(100000, Generator(2026)): first", p[:6], "last", p[-6:],
          "sum of i * p[i]:", sum(i * v for i, v in enumerate(p)))
    # below for n just above 2^63, where about half the draws are rejected, and for 2^64 - 1.
    e = MT19937_64(9)
    print("Generator(9): below(2^63 + 1) x 6:", [below(e, (1 << 63) + 1) for _ in range(6)])
    e = MT19937_64(9)
    print("Generator(9): below(2^64 - 1) x 3:", [below(e, MASK) for _ in range(3)])
