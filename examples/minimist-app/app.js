// A small service that parses user-supplied arguments with minimist 1.2.5 (CVE-2021-44906).
// GET /run?args=--name%20x  parses the arguments and answers with the result, and says whether
// the parse polluted Function.prototype (what an attacker's payload does on 1.2.5).
const http = require('node:http');
const minimist = require('minimist');

const port = Number(process.env.PORT ?? 3000);
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const args = (url.searchParams.get('args') ?? '').split(' ').filter(Boolean);
  const parsed = minimist(args);
  const polluted = (() => {}).polluted !== undefined;
  delete Function.prototype.polluted; // keep the demo repeatable
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, parsed, polluted }));
});
server.listen(port, '127.0.0.1', () =>
  console.log(`minimist-example listening on http://127.0.0.1:${port} (pid ${process.pid})`),
);
