// A byte-for-byte TCP relay that records what its clients send: put in front of a proxy, it shows exactly what
// the proxy received from authwatch.
import net, { type AddressInfo, type Socket } from 'node:net';

export interface TcpRecorder {
  url: string;
  /** Everything clients sent, all connections concatenated, as latin1 (binary TLS records included). */
  text(): string;
  stop(): Promise<void>;
}

export async function startTcpRecorder(targetPort: number): Promise<TcpRecorder> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    text: () => Buffer.concat(chunks).toString('latin1'),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
