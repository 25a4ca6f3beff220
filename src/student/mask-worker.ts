/** The dropout-mask worker thread (dropout-masks.ts MaskPrefetcher). */
import { parentPort } from 'node:worker_threads';
import { serveMasks } from './dropout-masks.js';

serveMasks(parentPort as unknown as Parameters<typeof serveMasks>[0]);
