// Starts the benchmark's simulated Jira (bench/jira-process.ts) in a process of its own and waits for its address.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const JIRA_PROCESS = fileURLToPath(new URL('./jira-process.js', import.meta.url));

export async function startJiraProcess(specPath: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(process.execPath, [JIRA_PROCESS, specPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = '';
  const baseUrl = await new Promise<string>((resolvePromise, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolvePromise((JSON.parse(buffered.slice(0, newline)) as { baseUrl: string }).baseUrl);
    });
    child.once('exit', (code) => reject(new Error(`the simulated Jira exited (${code}) before listening`)));
  });
  return { child, baseUrl };
}
