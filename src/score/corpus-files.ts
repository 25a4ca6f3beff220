import type { Report } from './report.js';
export async function evalCorpusFiles(_g: string, _p: string, _o: { format?: string; tagColumn?: string; countDocStarts?: boolean }): Promise<Report> {
  throw new Error('pending: corpus reader');
}
