// Line-delimited JSON between a Node client and the Python test that drives it: the script
// reports events on stdout and, when it needs a person (consent) or time to pass, waits for the
// test's answer on stdin.
import readline from 'node:readline';

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

export function send(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

export async function ask(event) {
  send(event);
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}

export async function main(run) {
  try {
    await run();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  }
}
