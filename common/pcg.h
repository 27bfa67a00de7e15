/* pcg: the PCG32 generator (O'Neill 2014, "PCG XSH RR 64/32") and the counter-based
 * streams built on it. Every random number the model uses is a pure function of
 * (seed, purpose, a, b, position):
 *   vs_stream(seed, purpose, a, b) seeds a PCG32 with
 *     initstate = mix64(seed ^ mix64(purpose)), initseq = mix64(a * K1 + b * K2 + purpose)
 *   and the value at `position` is its position-th output (vs_pcg32_advance jumps there
 *   in O(log position)).
 * For dropout a = step, b = user, position = item; for the reparameterisation noise
 * a = step, b = user, position = 2*j, 2*j+1 (Box-Muller). A CUDA thread can therefore
 * draw exactly the number the CPU backend drew, wherever it sits in the batch.
 * The functions are header-inline and marked for both host and device compilation. */
#ifndef VS_PCG_H
#define VS_PCG_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define VS_HD __host__ __device__ __forceinline__
#else
#define VS_HD static inline
#endif

#define VS_PCG_MULT 6364136223846793005ULL

typedef struct vs_pcg32 {
    uint64_t state;
    uint64_t inc;   /* always odd */
} vs_pcg32;

/* What a stream is for; part of the stream key so different uses never share numbers. */
enum vs_rng_purpose {
    VS_RNG_INIT = 1,      /* a = layer, b = row of the weight matrix */
    VS_RNG_DROPOUT = 2,   /* a = step, b = user, position = item */
    VS_RNG_NOISE = 3,     /* a = step, b = user, position = 2*latent (+1) */
    VS_RNG_SHUFFLE = 4,   /* a = epoch, b = 0 */
    VS_RNG_SPLIT = 5,     /* data preparation: a = 0 users shuffle, a = 1 per-user split */
    VS_RNG_SYNTH = 6,     /* synthetic data generation */
    VS_RNG_SAMPLER = 7,   /* hyperparameter search: a = trial number, b = parameter or draw */
};

VS_HD uint32_t vs_pcg32_next(vs_pcg32 *g) {
    uint64_t old = g->state;
    g->state = old * VS_PCG_MULT + g->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

/* The reference seeding: pcg32_srandom_r(initstate, initseq). */
VS_HD void vs_pcg32_seed(vs_pcg32 *g, uint64_t initstate, uint64_t initseq) {
    g->state = 0u;
    g->inc = (initseq << 1u) | 1u;
    vs_pcg32_next(g);
    g->state += initstate;
    vs_pcg32_next(g);
}

/* Skips delta outputs (Brown, "Random number generation with arbitrary strides"). */
VS_HD void vs_pcg32_advance(vs_pcg32 *g, uint64_t delta) {
    uint64_t cur_mult = VS_PCG_MULT, cur_plus = g->inc;
    uint64_t acc_mult = 1u, acc_plus = 0u;
    while (delta > 0) {
        if (delta & 1u) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1u) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1u;
    }
    g->state = acc_mult * g->state + acc_plus;
}

/* SplitMix64's finaliser: a bijective 64-bit mix, used only to derive stream keys. */
VS_HD uint64_t vs_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

VS_HD vs_pcg32 vs_stream(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
    vs_pcg32 g;
    uint64_t initstate = vs_mix64(seed ^ vs_mix64(purpose));
    uint64_t initseq = vs_mix64(vs_mix64(a * 0x9e3779b97f4a7c15ULL + purpose) ^ (b * 0xc2b2ae3d27d4eb4fULL));
    vs_pcg32_seed(&g, initstate, initseq);
    return g;
}

/* The position-th output of a stream. */
VS_HD uint32_t vs_stream_at(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b, uint64_t position) {
    vs_pcg32 g = vs_stream(seed, purpose, a, b);
    vs_pcg32_advance(&g, position);
    return vs_pcg32_next(&g);
}

/* Uniform in [0, 1) with 24 bits, exact in float. */
VS_HD float vs_u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* Uniform in [0, 1) with 53 bits from two outputs. */
VS_HD double vs_pcg32_unit_double(vs_pcg32 *g) {
    uint64_t hi = vs_pcg32_next(g) >> 5, lo = vs_pcg32_next(g) >> 6;   /* 27 + 26 bits */
    return (double)(hi * 67108864ULL + lo) * (1.0 / 9007199254740992.0);
}

/* Unbiased integer in [0, bound) (Lemire's nearly-divisionless method). */
VS_HD uint32_t vs_pcg32_bounded(vs_pcg32 *g, uint32_t bound) {
    uint64_t m = (uint64_t)vs_pcg32_next(g) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t threshold = (uint32_t)(-bound) % bound;
        while (low < threshold) {
            m = (uint64_t)vs_pcg32_next(g) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* A standard normal from two outputs of g by Box-Muller (cosine branch), computed in
 * double so that host and device round to the same float. */
VS_HD double vs_pcg32_normal(vs_pcg32 *g) {
    uint32_t a = vs_pcg32_next(g), b = vs_pcg32_next(g);
    double u1 = ((double)(a >> 8) + 1.0) * (1.0 / 16777216.0);  /* (0, 1] */
    double u2 = (double)(b >> 8) * (1.0 / 16777216.0);          /* [0, 1) */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Dropout keeps an element when its 32-bit draw is below this threshold; an integer
 * comparison, so both backends agree exactly. */
VS_HD uint32_t vs_keep_threshold(float keep_prob) {
    double t = (double)keep_prob * 4294967296.0;
    return t >= 4294967295.0 ? 0xffffffffu : (uint32_t)t;
}

#endif
