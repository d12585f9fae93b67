/**
 * Sessions more than one real-client test runs. The extensions session exercises what the client
 * attributes telemetry to: a skill, an MCP stdio server, a PostToolUse hook on Bash, a file the
 * Write tool writes, and a subagent on a second model (its requests come to the same stand-in;
 * its first message is the task the Agent call gave it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { claudeHome, writeEchoMcpServer, writeSettings, writeSkill } from './claude-code.ts';
import { type MessagesRequest, text, toolUse, type Turn, type Usage } from './messages-api.ts';

export const NOTES_CONTENT = 'one\ntwo\nthree';

export interface Scenario {
  readonly home: string;
  readonly cwd: string;
  readonly prompt: string;
  readonly turns: Turn[];
  readonly options: { home: string; cwd: string; allowedTools: string[]; args: string[] };
}

export function extensionsScenario(subagentUsage?: Partial<Usage>): Scenario {
  const home = claudeHome();
  const cwd = join(home, 'project');
  mkdirSync(cwd, { recursive: true });
  writeSkill(home, 'greeting', 'Greets the user politely', 'Say hello politely.');
  writeSettings(home, { hooks: { PostToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'true' }] }] } });
  const mcpConfig = writeEchoMcpServer(home, 'probe');
  const isSubagent = (request: MessagesRequest) => JSON.stringify(request.messages[0] ?? '').includes('SUBAGENT-TASK');
  const main = { match: (request: MessagesRequest) => !isSubagent(request) };
  return {
    home,
    cwd,
    prompt: 'Greet, echo, run and delegate',
    turns: [
      toolUse('Skill', { skill: 'greeting' }, undefined, main),
      toolUse('mcp__probe__echo', { text: 'hi there' }, undefined, main),
      toolUse('Bash', { command: 'true', description: 'Do nothing' }, undefined, main),
      toolUse('Write', { file_path: join(cwd, 'notes.md'), content: NOTES_CONTENT }, undefined, main),
      toolUse('Agent', { description: 'Check a thing', prompt: 'SUBAGENT-TASK: say done', subagent_type: 'general-purpose', model: 'haiku', run_in_background: false }, undefined, main),
      text('subagent done', subagentUsage, { match: isSubagent }),
      text('all done', undefined, main),
    ],
    options: { home, cwd, allowedTools: ['Bash', 'Write', 'Skill', 'Agent', 'mcp__probe__echo'], args: ['--mcp-config', mcpConfig] },
  };
}
