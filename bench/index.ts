/**
 * `npm run bench -- <name> [args]`: runs one benchmark (bench/<name>.ts exports `run(args)`), prints its
 * figures. Every benchmark reports ratios against a reference measured in the same run.
 */
const benches: Record<string, string> = {
  score: './score.js',
  train: './train.js',
  teacher: './teacher.js',
  serve: './serve.js',
  int8: './int8.js',
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || !(name in benches)) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [args]\n`);
    process.exitCode = 2;
    return;
  }
  const mod = (await import(benches[name]!)) as { run: (args: string[]) => Promise<unknown> };
  const figures = await mod.run(args);
  if (figures !== undefined) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}

await main();
