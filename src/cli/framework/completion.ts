/**
 * Shell completion scripts (bash, zsh, fish) generated from the commands' declarations: every
 * command, every listed option, the values of options with choices, files and folders where an
 * option takes one, and kubeconfig contexts from kubectl when it is installed. The scripts are
 * static (no call back into the CLI at each <Tab>), so completing costs nothing.
 */
import type { Completion, Flag, Flags } from './command.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletedCommand {
  readonly name: string;
  readonly summary: string;
  readonly flags: Flags;
  /** Values of the first operand (help's command names, report names). */
  readonly operands?: readonly string[];
}

const PROGRAM = 'telemetry-stack';

/** Options of a command that writes its own usage text: the "  -x, --name VALUE  help" lines of it. */
export function flagsFromUsage(usage: string): Flags {
  const flags: Record<string, Flag> = {};
  for (const match of usage.matchAll(/^ {2,}(?:-(\w), )?--([a-z][-a-z0-9]*)(?: ([A-Z][-A-Z_=.,[\]]*))?\s{2,}(.*)$/gm)) {
    const [, short, name, value, help] = match;
    flags[name!] = value ? { type: 'string', value, help: help!, ...(short ? { short } : {}) } : { type: 'boolean', help: help!, ...(short ? { short } : {}) };
  }
  return flags;
}

const listed = (flags: Flags) => Object.entries(flags).filter(([, flag]) => !flag.hidden && flag.moved === undefined);
const takesValue = (flag: Flag) => flag.type !== 'boolean';
const completionOf = (flag: Flag): Completion | 'choices' => {
  if (flag.type === 'string' && flag.choices) return 'choices';
  if ((flag.type === 'string' || flag.type === 'list') && flag.complete) return flag.complete;
  return 'none';
};
const choicesOf = (flag: Flag) => (flag.type === 'string' && flag.choices ? flag.choices : []);
const firstLine = (text: string) => text.split('\n')[0]!.replace(/\s+/g, ' ').trim();

export function completionScript(shell: Shell, commands: readonly CompletedCommand[]): string {
  if (shell === 'bash') return bash(commands);
  if (shell === 'zsh') return zsh(commands);
  return fish(commands);
}

function bash(commands: readonly CompletedCommand[]): string {
  const names = commands.map((command) => command.name).join(' ');
  const cases = commands.map((command) => {
    const flags = listed(command.flags);
    const spellings = (name: string, flag: Flag) => [`--${name}`, ...(flag.short ? [`-${flag.short}`] : [])];
    const valueCases: string[] = [];
    const byKind = new Map<string, string[]>();
    for (const [name, flag] of flags.filter(([, candidate]) => takesValue(candidate))) {
      const kind = completionOf(flag);
      if (kind === 'choices') valueCases.push(`        ${spellings(name, flag).join('|')}) COMPREPLY=($(compgen -W "${choicesOf(flag).join(' ')}" -- "$cur")); return ;;`);
      else byKind.set(kind, [...(byKind.get(kind) ?? []), ...spellings(name, flag)]);
    }
    const action: Record<string, string> = {
      file: 'COMPREPLY=($(compgen -f -- "$cur"))',
      directory: 'COMPREPLY=($(compgen -d -- "$cur"))',
      context: 'COMPREPLY=($(compgen -W "$(kubectl config get-contexts -o name 2>/dev/null)" -- "$cur"))',
      none: 'COMPREPLY=()',
    };
    for (const [kind, words] of byKind) valueCases.push(`        ${words.join('|')}) ${action[kind]}; return ;;`);
    const words = flags.flatMap(([name, flag]) => spellings(name, flag)).concat(flags.length > 0 ? ['--help'] : []).join(' ');
    const operands = command.operands ? `${command.operands.join(' ')} ` : '';
    return [
      `    ${command.name})`,
      ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, '      esac'] : []),
      `      COMPREPLY=($(compgen -W "${operands}${words}" -- "$cur")) ;;`,
    ].join('\n');
  });
  return `# ${PROGRAM} completion for bash. Load it with:
#   source <(${PROGRAM} completion bash)      (or write it to /etc/bash_completion.d/${PROGRAM})
_telemetry_stack() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names} --help --version" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
}
complete -o default -F _telemetry_stack ${PROGRAM}
`;
}

/** A zsh single-quoted word. */
const zq = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
/** Text inside an _arguments [description]. */
const zdesc = (text: string) => firstLine(text).replace(/[[\]:\\]/g, (char) => `\\${char}`);

function zsh(commands: readonly CompletedCommand[]): string {
  const list = commands.map((command) => `    ${zq(`${command.name}:${firstLine(command.summary).replace(/:/g, '\\:')}`)}`).join('\n');
  const cases = commands.map((command) => {
    const specs = listed(command.flags).map(([name, flag]) => {
      const kind = completionOf(flag);
      const action = !takesValue(flag)
        ? ''
        : `:${(flag.value ?? 'VALUE').replace(/:/g, '')}:${
            kind === 'choices' ? `(${choicesOf(flag).join(' ')})` : kind === 'file' ? '_files' : kind === 'directory' ? '_files -/' : kind === 'context' ? '{_values context $(kubectl config get-contexts -o name 2>/dev/null)}' : ' '
          }`;
      const repeat = flag.type === 'list' ? '*' : '';
      const names = flag.short ? `{-${flag.short},--${name}}` : `--${name}`;
      const exclusive = flag.short && !repeat ? `'(-${flag.short} --${name})'` : '';
      return `        ${exclusive}${repeat ? "'*'" : ''}${names}${zq(`[${zdesc(flag.help)}]${action}`)}`;
    });
    const operands = command.operands ? [`        ${zq(`1:operand:(${command.operands.join(' ')})`)}`] : ["        '*:file:_files'"];
    return `    ${command.name})\n      _arguments -s \\\n${[...specs, ...operands].join(' \\\n')} ;;`;
  });
  return `#compdef ${PROGRAM}
# ${PROGRAM} completion for zsh. Load it with:
#   source <(${PROGRAM} completion zsh)      (after compinit; or save it as _${PROGRAM} in your $fpath)
_telemetry_stack() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands command commands
    return
  fi
  local command=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $command in
${cases.join('\n')}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _telemetry_stack "$@"
else
  compdef _telemetry_stack ${PROGRAM}
fi
`;
}

/** A fish single-quoted word. */
const fq = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fish(commands: readonly CompletedCommand[]): string {
  const lines = [
    `# ${PROGRAM} completion for fish. Load it with:`,
    `#   ${PROGRAM} completion fish | source      (or save it as ~/.config/fish/completions/${PROGRAM}.fish)`,
    `complete -c ${PROGRAM} -f`,
    `complete -c ${PROGRAM} -n __fish_use_subcommand -l help -d 'Show the commands'`,
    `complete -c ${PROGRAM} -n __fish_use_subcommand -l version -d 'Print the version'`,
  ];
  for (const command of commands) {
    lines.push(`complete -c ${PROGRAM} -n __fish_use_subcommand -a ${command.name} -d ${fq(firstLine(command.summary))}`);
    const when = `-n ${fq(`__fish_seen_subcommand_from ${command.name}`)}`;
    if (command.operands) lines.push(`complete -c ${PROGRAM} ${when} -a ${fq(command.operands.join(' '))}`);
    for (const [name, flag] of listed(command.flags)) {
      const kind = completionOf(flag);
      const value = !takesValue(flag)
        ? ''
        : kind === 'choices'
          ? ` -x -a ${fq(choicesOf(flag).join(' '))}`
          : kind === 'file' || kind === 'directory'
            ? ' -r -F'
            : kind === 'context'
              ? ` -x -a ${fq('(kubectl config get-contexts -o name 2>/dev/null)')}`
              : ' -x';
      lines.push(`complete -c ${PROGRAM} ${when}${flag.short ? ` -s ${flag.short}` : ''} -l ${name}${value} -d ${fq(firstLine(flag.help))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
