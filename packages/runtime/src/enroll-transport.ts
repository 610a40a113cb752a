import http from 'node:http';
import https from 'node:https';

/**
 * The protocol client's transport for enrollment: node:http(s) with the socket unreferenced, so a
 * short-lived process does not wait on a slow server (global fetch would hold it open).
 */
export function unrefFetch(url: string, init: RequestInit): Promise<Response> {
  const u = new URL(url);
  const data = Buffer.from(String(init.body ?? ''));
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? https : http).request(
      u,
      {
        method: init.method ?? 'GET',
        timeout: 30_000,
        headers: { ...(init.headers as Record<string, string>), 'content-length': String(data.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 65_536) text += c;
        });
        res.on('end', () => resolve(new Response(text, { status: res.statusCode ?? 0 })));
      },
    );
    req.on('socket', (s) => s.unref());
    req.on('timeout', () => req.destroy(new Error(`${u.origin}: enrollment timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}
