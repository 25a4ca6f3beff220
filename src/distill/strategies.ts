/**
 * Each named strategy as a list of phases. A phase says which data it trains on and how the teacher's data
 * is blended in: concatenated, at a share of every batch that follows a schedule, or at a loss weight that
 * follows a schedule. `simple-mix` is the paper's best regimen (teacher first, then human).
 */
import type { DistillConfig, ScheduleConfig, Strategy } from './config.js';

export type Blend =
  | { kind: 'concat' }
  /** the teacher's share of each batch follows the schedule */
  | { kind: 'share'; schedule: ScheduleConfig }
  /** batches are concatenated data; teacher tokens' loss weight follows the schedule */
  | { kind: 'weight'; schedule: ScheduleConfig };

export interface PhasePlan {
  name: string;
  epochs: number;
  lr: number;
  warmup: number;
  human: boolean;
  teacher: boolean;
  blend: Blend;
}

const decayCurve: Partial<Record<Strategy, ScheduleConfig['curve']>> = {
  sigmoid: 'sigmoid',
  'power-decay': 'power',
  'linear-decay': 'linear',
  'exponential-decay': 'exponential',
};

/** Does this strategy need teacher annotations at all? */
export function usesTeacher(strategy: Strategy): boolean {
  return strategy !== 'human-only';
}

export function planPhases(config: DistillConfig): PhasePlan[] {
  const { phase1, phase2, strategy } = config;
  const p1 = { name: 'phase1', epochs: phase1.epochs, lr: phase1.lr, warmup: phase1.warmup };
  const p2 = { name: 'phase2', epochs: phase2.epochs, lr: phase2.lr, warmup: phase2.warmup };
  const concat: Blend = { kind: 'concat' };
  switch (strategy) {
    case 'human-only':
      // the baseline gets the phase-2 budget of epochs on human data (the data every other regimen also sees)
      return [{ ...p2, name: 'human', human: true, teacher: false, blend: concat }];
    case 'teacher-only':
      return [{ ...p1, name: 'teacher', human: false, teacher: true, blend: concat }];
    case 'concat':
      return [{ ...p1, name: 'concat', epochs: phase1.epochs, human: true, teacher: true, blend: concat }];
    case 'simple-mix':
      return [
        { ...p1, human: false, teacher: true, blend: concat },
        { ...p2, human: true, teacher: false, blend: concat },
      ];
    case 'mix': {
      const blend: Blend =
        config.teacherShare === undefined
          ? concat
          : {
              kind: 'share',
              schedule: { ...config.schedule, curve: 'constant', from: config.teacherShare, to: config.teacherShare },
            };
      return [
        { ...p1, human: false, teacher: true, blend: concat },
        { ...p2, human: true, teacher: true, blend },
      ];
    }
    default: {
      const curve = decayCurve[strategy];
      if (!curve) throw new Error(`unknown strategy ${strategy}`);
      const schedule: ScheduleConfig = { ...config.schedule, curve };
      return [
        { ...p1, human: false, teacher: true, blend: concat },
        { ...p2, human: true, teacher: true, blend: { kind: schedule.applyTo, schedule } },
      ];
    }
  }
}
