/**
 * The revision of what training makes of a config. Every cache key of the distill stage — a run's
 * `configHash` in an experiment's results.jsonl, and the folders of its phases, selector students and
 * pretrained student — includes it. A change that makes the same config train a different student (a new
 * default, different numerics, another selection score) bumps it, so older results and checkpoints are
 * trained again instead of being reused as if this code had made them.
 *
 *   1  the students of nerd ≤ 0.1.0 as first released
 *   2  a fresh classifier starts at the label prior; fewer element-wise passes per step (GELU's constants in
 *      the Gemms, fused softmax+dropout backward); uncertainty from each word's full softmax
 */
export const TRAINING_REVISION = 2;
