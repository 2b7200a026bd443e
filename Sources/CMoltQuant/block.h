/* One block of rows on one path: tiles of LANES groups (taken in row order across row
 * boundaries, so no lane idles except in the block's last tile), then the error measurement.
 * Included by the path_*.c files after the lanes, tile and measure headers; BLOCK_NAME names
 * the entry. */

#include <stdlib.h>

/* A tile as lane values: element j of every group at x + LANES * j. Lanes past the block's
 * last group repeat it (their results are dropped). Ragged groups are padded with 0 for q8
 * (which quantizes to 0 and adds to no sum) and with their first value for q4 (which keeps
 * the extremes; the search weighs it 0). */
typedef struct {
    int64_t used;                     /* lanes holding groups of the block */
    int whole;                        /* every group has G data values */
    int64_t first;                    /* the block's element where lane 0's group starts */
    int32_t offsets[LANES];           /* byte offset of each lane's group from lane 0's */
    _Alignas(64) float counts[LANES]; /* data values per lane */
    uint8_t *rows[LANES];             /* the stored row of each lane's group */
    int64_t groups[LANES];            /* the group's index within its row */
} tile_lanes;

static void locate_tile(const molt_quant_job *job, int64_t tile, int64_t total, uint8_t *destination, tile_lanes *t) {
    const int64_t g = job->group_size, esize = molt_source_size(job->source);
    t->used = total - tile < LANES ? total - tile : LANES;
    t->whole = 1;
    /* Walk the groups from the tile's first (one division per tile, not per lane). */
    int64_t row = tile / job->groups, group = tile % job->groups;
    for (int lane = 0; lane < LANES; lane++) {
        if (lane > 0 && tile + lane < total && ++group == job->groups) {
            group = 0;
            row++;
        }
        int64_t start = group * g, valid = job->columns - start < g ? job->columns - start : g, element = row * job->columns + start;
        if (lane == 0) t->first = element;
        t->offsets[lane] = (int32_t)((element - t->first) * esize);
        t->counts[lane] = (float)valid;
        t->rows[lane] = destination + row * job->row_stride;
        t->groups[lane] = group;
        t->whole &= valid == g;
    }
}

static void copy_tile(const molt_quant_job *job, const uint8_t *base, const tile_lanes *t, float *x) {
    const int64_t g = job->group_size;
    for (int lane = 0; lane < LANES; lane++) {
        const uint8_t *values = base + t->offsets[lane];
        int64_t valid = (int64_t)t->counts[lane];
        float padding = job->type == MOLT_QUANT_Q8 ? 0.0f : molt_source_value(values, job->source, 0);
        for (int64_t j = 0; j < g; j++) x[LANES * j + lane] = j < valid ? molt_source_value(values, job->source, j) : padding;
    }
}

/* The search weights of the tile's groups, transposed like the values. */
static void copy_weights(const molt_quant_job *job, const tile_lanes *t, float *w) {
    const int64_t g = job->group_size;
    for (int lane = 0; lane < LANES; lane++) {
        const float *weights = job->weights + t->groups[lane] * g;
        for (int64_t j = 0; j < g; j++) w[LANES * j + lane] = weights[j];
    }
}

/* Each lane's words go to its own group: `words` per lane, word w of lane l at w * LANES + l. */
static void store_words(const tile_lanes *t, const uint32_t *packed, int64_t words, int64_t group_bytes) {
    for (int64_t lane = 0; lane < t->used; lane++) {
        uint8_t *out = t->rows[lane] + t->groups[lane] * group_bytes;
        for (int64_t w = 0; w < words; w++) memcpy(out + 4 * w, &packed[w * LANES + lane], 4);
    }
}

static void store_halves(const tile_lanes *t, vf values, int64_t offset) {
    _Alignas(64) float lanes[LANES];
    vstore(lanes, values);
    for (int64_t lane = 0; lane < t->used; lane++) molt_store_u16(t->rows[lane] + offset + 2 * t->groups[lane], molt_half_bits(lanes[lane]));
}

static void pack_q8(const float *x, int64_t g, const q8_choice *choice, uint32_t *packed) {
    vf low = vset(-127.0f), high = vset(127.0f);
    for (int64_t w = 0; w < g / 4; w++) {
        vi word = vi_zero();
        for (int b = 0; b < 4; b++) {
            vf k = quantize(vmul(vload(x + LANES * (4 * w + b)), choice->inverse), low, high);
            word = vi_or(word, vi_shl(vi_and(vtoi(k), 0xFF), 8 * b));
        }
        vi_store(packed + w * LANES, word);
    }
}

/* Byte j of a group holds element j (low nibble) and element j + G/2 (high nibble). Padding
 * and constant groups store 0. */
__attribute__((always_inline)) static inline void pack_q4(const float *x, int64_t g, vf count, int ragged, const q4_choice *choice,
                                                          uint32_t *packed) {
    vf low = vset(0.0f), high = vset(15.0f), zero = vset(0.0f);
    const int64_t half = g / 2;
    for (int64_t w = 0; w < half / 4; w++) {
        vi word = vi_zero();
        for (int b = 0; b < 4; b++) {
            int64_t j = 4 * w + b;
            vf k0 = quantize(vmul(vsub(vload(x + LANES * j), choice->offset), choice->inverse), low, high);
            vf k1 = quantize(vmul(vsub(vload(x + LANES * (j + half)), choice->offset), choice->inverse), low, high);
            k0 = vsel(choice->constant, zero, MASK(j, k0));
            k1 = vsel(choice->constant, zero, MASK(j + half, k1));
            word = vi_or(word, vi_shl(vi_or(vtoi(k0), vi_shl(vtoi(k1), 4)), 8 * b));
        }
        vi_store(packed + w * LANES, word);
    }
}

molt_quant_status BLOCK_NAME(const molt_quant_job *job, const uint8_t *source, int64_t rows, uint8_t *destination,
                             molt_quant_error *error) {
    const int64_t g = job->group_size, total = rows * job->groups, esize = molt_source_size(job->source);
    const size_t tile_bytes = (size_t)(LANES * g) * sizeof(float);
    /* The tile's values, q8's candidate integers or q4's centred values, the packed words,
     * the search weights. */
    const int weighted = job->search && job->weights;
    uint8_t *scratch = aligned_alloc(64, (3 * tile_bytes + tile_bytes / 4 + 63) / 64 * 64);
    if (!scratch) return MOLT_QUANT_NO_MEMORY;
    float *x = (float *)scratch, *k = (float *)(scratch + tile_bytes), *w = (float *)(scratch + 2 * tile_bytes + tile_bytes / 4);
    uint32_t *packed = (uint32_t *)(scratch + 2 * tile_bytes);
    tile_lanes t;
    molt_quant_status status = MOLT_QUANT_OK;
    for (int64_t tile = 0; tile < total && status == MOLT_QUANT_OK; tile += LANES) {
        locate_tile(job, tile, total, destination, &t);
        const uint8_t *base = source + t.first * esize;
#ifdef HAVE_GATHER_TILE
        if (t.whole)
            gather_tile(x, base, t.offsets, g, job->source);
        else
#endif
            copy_tile(job, base, &t, x);
        if (weighted) copy_weights(job, &t, w);
        if (job->type == MOLT_QUANT_Q8) {
            q8_choice choice;
            status = weighted ? q8_tile(x, g, 1, w, 1, k, &choice) : q8_tile(x, g, job->search, w, 0, k, &choice);
            if (status != MOLT_QUANT_OK) break;
            pack_q8(x, g, &choice, packed);
            store_words(&t, packed, g / 4, g);
            store_halves(&t, choice.scale, job->scales_offset);
        } else {
            q4_choice choice;
            vf count = vload(t.counts);
            /* Weighted, padding weighs 0, so the tile need not be treated as ragged. */
            if (weighted)
                status = q4_tile(x, g, count, 0, 1, w, 1, k, &choice);
            else if (t.whole)
                status = q4_tile(x, g, count, 0, job->search, w, 0, k, &choice);
            else
                status = q4_tile(x, g, count, 1, job->search, w, 0, k, &choice);
            if (status == MOLT_QUANT_OK) {
                if (t.whole)
                    pack_q4(x, g, count, 0, &choice, packed);
                else
                    pack_q4(x, g, count, 1, &choice, packed);
            }
            if (status != MOLT_QUANT_OK) break;
            store_words(&t, packed, g / 8, g / 2);
            store_halves(&t, choice.scale, job->scales_offset);
            store_halves(&t, choice.minimum, job->minimums_offset);
        }
    }
    free(scratch);
    if (status == MOLT_QUANT_OK) measure_rows(job, source, rows, destination, error);
    return status;
}
