/**
 * Entry point of the `qumri` command line: one sub-command per module in ./commands.
 * Each command module exports `run(argv: string[]): Promise<number>` and `usage: string`.
 */

type CommandModule = { run(argv: string[]): Promise<number>; usage: string };

const commands: Record<string, () => Promise<CommandModule>> = {
  adapt: () => import('./commands/adapt.ts'),
  circuit: () => import('./commands/circuit.ts'),
  classify: () => import('./commands/classify.ts'),
  models: () => import('./commands/models.ts'),
  preprocess: () => import('./commands/preprocess.ts'),
};

function help(): string {
  return ['usage: qumri <command> [options]', '', 'commands:', ...Object.keys(commands).map((c) => `  ${c}`)].join(
    '\n',
  );
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`qumri: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    console.error(`qumri ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
