/*
 * Hashing: SHA-256 (FIPS 180-4) and Keccak-256 (Ethereum's pre-standard padding, 0x01) over
 * fixed messages, printing the digests. SHA-256 exercises 32-bit rotates and adds; Keccak-f[1600]
 * exercises 64-bit lanes, which rv32 lowers to pairs of 32-bit shifts and logic.
 */
#include "opml.h"

#define LONG_LEN 1000

/* ---- SHA-256 ---- */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr32(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
    uint32_t t2 = (rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256(const uint8_t *msg, uint32_t len, uint8_t out[32]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint32_t done = 0;
  for (; len - done >= 64; done += 64) sha256_block(h, msg + done);
  uint8_t tail[128] = {0};
  uint32_t rest = len - done;
  for (uint32_t i = 0; i < rest; i++) tail[i] = msg[done + i];
  tail[rest] = 0x80;
  uint32_t tail_len = rest + 9 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (uint32_t off = 0; off < tail_len; off += 64) sha256_block(h, tail + off);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

/* ---- Keccak-256 ---- */

static const uint64_t KECCAK_RC[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};
static const uint8_t KECCAK_ROT[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14};

static uint64_t rotl64(uint64_t x, unsigned n) { return n == 0 ? x : (x << n) | (x >> (64 - n)); }

/* Lane index x + 5y, as in FIPS 202. */
static void keccak_f1600(uint64_t a[25]) {
  for (int round = 0; round < 24; round++) {
    uint64_t c[5], b[25];
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; x++) {
      uint64_t d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[x + y] ^= d;
    }
    for (int x = 0; x < 5; x++)
      for (int y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y], KECCAK_ROT[x + 5 * y]);
    for (int x = 0; x < 5; x++)
      for (int y = 0; y < 25; y += 5) a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
    a[0] ^= KECCAK_RC[round];
  }
}

#define KECCAK256_RATE 136

static void keccak256(const uint8_t *msg, uint32_t len, uint8_t out[32]) {
  uint64_t a[25] = {0};
  uint8_t block[KECCAK256_RATE];
  uint32_t off = 0;
  for (;;) {
    uint32_t take = len - off < KECCAK256_RATE ? len - off : KECCAK256_RATE;
    int last = take < KECCAK256_RATE;
    for (uint32_t i = 0; i < KECCAK256_RATE; i++) block[i] = i < take ? msg[off + i] : 0;
    if (last) {
      block[take] ^= 0x01;
      block[KECCAK256_RATE - 1] ^= 0x80;
    }
    for (int i = 0; i < KECCAK256_RATE / 8; i++) {
      uint64_t lane = 0;
      for (int j = 7; j >= 0; j--) lane = lane << 8 | block[8 * i + j];
      a[i] ^= lane;
    }
    keccak_f1600(a);
    off += take;
    if (last) break;
  }
  for (int i = 0; i < 32; i++) out[i] = (uint8_t)(a[i / 8] >> (8 * (i % 8)));
}

/* ---- main ---- */

static uint8_t long_msg[LONG_LEN];

static uint32_t report(const char *label, const uint8_t digest[32]) {
  opml_puts(label);
  opml_puts("=");
  opml_put_hex_bytes(digest, 32);
  opml_puts("\n");
  return digest[0];
}

int main(void) {
  static const char abc[] = "abc";
  static const char nist56[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  /* The test rebuilds this message byte for byte: i * 31 + 7 mod 256. */
  for (uint32_t i = 0; i < LONG_LEN; i++) long_msg[i] = (uint8_t)(i * 31 + 7);

  uint8_t d[32];
  uint32_t code = 0;
  sha256((const uint8_t *)"", 0, d);
  code ^= report("sha256()", d);
  sha256((const uint8_t *)abc, 3, d);
  code ^= report("sha256(abc)", d);
  sha256((const uint8_t *)nist56, 56, d);
  code ^= report("sha256(nist56)", d);
  sha256(long_msg, LONG_LEN, d);
  code ^= report("sha256(long)", d);
  keccak256((const uint8_t *)"", 0, d);
  code ^= report("keccak256()", d);
  keccak256((const uint8_t *)abc, 3, d);
  code ^= report("keccak256(abc)", d);
  keccak256(long_msg, KECCAK256_RATE, d);
  code ^= report("keccak256(long[0..136])", d);
  keccak256(long_msg, LONG_LEN, d);
  code ^= report("keccak256(long)", d);
  return (int)code;
}
