import should from 'should';

import { RequestTimeoutError, Transport } from '../../../lib/cluster/transport';
import { freePorts } from '../../support/ports';
import { eventually } from '../../support/coreNode';

interface Received {
  peer: string;
  topic: string;
  envelopes: string[];
}

interface Node {
  transport: Transport;
  pubUrl: string;
  routerUrl: string;
  received: Received[];
  requests: string[][];
}

/**
 * Real 0mq sockets in this process, on 127.0.0.1. What the integration test
 * (test/integration/transport.test.ts) does not cover: topic routing, one SUB
 * per peer (the sender is the socket, not what a frame claims), requests, close().
 * A message that must NOT arrive is checked by sending a marker after it on
 * the same link: PUB/SUB keeps a link's order, so once the marker is in, the
 * other would be too.
 */
describe('transport (real 0mq, one process)', function () {
  this.timeout(20000);

  const made: Transport[] = [];

  async function node (options: { maxMessageSize?: number; reply?: (frames: Buffer[]) => string[] | null } = {}): Promise<Node> {
    const [pub, router] = await freePorts(2);
    const received: Received[] = [];
    const requests: string[][] = [];
    const pubUrl = `tcp://127.0.0.1:${pub}`;
    const routerUrl = `tcp://127.0.0.1:${router}`;
    const transport = new Transport(
      { curve: null, highWaterMark: 1000, maxMessageSize: options.maxMessageSize || 1024 * 1024, pubUrl, routerUrl },
      (peer, frames) => received.push({ envelopes: frames.slice(1).map(f => f.toString()), peer, topic: frames[0].toString() }),
      async frames => {
        requests.push(frames.map(f => f.toString()));
        return options.reply ? options.reply(frames) : null;
      });
    made.push(transport);
    await transport.bind();
    return { pubUrl, received, requests, routerUrl, transport };
  }

  /** `receiver` subscribes to `sender` as peer `id` with these topics, and waits until the link carries messages */
  async function link (receiver: Node, sender: Node, id: string, topics: string[]): Promise<void> {
    receiver.transport.setTopics(topics);
    receiver.transport.connectPeer(id, sender.pubUrl);
    await eventually(`${id} linked`, () => {
      sender.transport.publish(topics[0], 'probe');
      return receiver.received.some(r => r.peer === id);
    });
    // probes still on their way
    await marker(receiver, sender, id, topics[0]);
    receiver.received.length = 0;
  }

  let markers = 0;
  /** publishes a marker and waits for it: whatever `sender` published before on that link has arrived */
  async function marker (receiver: Node, sender: Node, id: string, topic: string): Promise<void> {
    const body = `marker-${++markers}`;
    sender.transport.publish(topic, body);
    await eventually(`marker ${body} from ${id}`, () => receiver.received.some(r => r.peer === id && r.envelopes.includes(body)));
  }

  function bodies (receiver: Node, peer: string): string[] {
    return receiver.received.filter(r => r.peer === peer).flatMap(r => r.envelopes).filter(b => !b.startsWith('marker-'));
  }

  after(() => {
    for (const transport of made) {
      transport.close();
    }
  });

  describe('topic routing', () => {
    it('a peer gets the broadcast topic and its own, not another node\'s', async () => {
      const [sender, receiver] = await Promise.all([node(), node()]);
      await link(receiver, sender, 'sender', ['B', 'Nreceiver']);

      sender.transport.publish('B', 'to everyone');
      sender.transport.publish('Nother', 'to another node');
      sender.transport.publish('Nreceiver', 'to the receiver');
      sender.transport.publish('Nreceiver2', 'to a node whose id starts like the receiver\'s');
      await marker(receiver, sender, 'sender', 'B');

      // 0mq topics are prefixes: N<id> also catches N<id><more>. Node ids are
      // uuids, all of one length, so no id extends another; and the inbox
      // checks the topic exactly.
      should(bodies(receiver, 'sender')).eql(['to everyone', 'to the receiver', 'to a node whose id starts like the receiver\'s']);
      should(receiver.received.filter(r => !r.envelopes[0].startsWith('marker-')).map(r => r.topic))
        .eql(['B', 'Nreceiver', 'Nreceiver2']);
    });

    it('setTopics applies to peers connected afterwards (a rejoin under a new id)', async () => {
      const [a, b, receiver] = await Promise.all([node(), node(), node()]);
      await link(receiver, a, 'a', ['B', 'Nold']);
      await link(receiver, b, 'b', ['B', 'Nnew']);

      a.transport.publish('Nold', 'a to old');
      a.transport.publish('Nnew', 'a to new');
      b.transport.publish('Nold', 'b to old');
      b.transport.publish('Nnew', 'b to new');
      await marker(receiver, a, 'a', 'B');
      await marker(receiver, b, 'b', 'B');
      should(bodies(receiver, 'a')).eql(['a to old']);
      should(bodies(receiver, 'b')).eql(['b to new']);
    });
  });

  describe('one SUB socket per peer', () => {
    it('frames are attributed to the peer whose socket they came from, whatever they claim', async () => {
      const [a, b, receiver] = await Promise.all([node(), node(), node()]);
      await link(receiver, a, 'a', ['B']);
      await link(receiver, b, 'b', ['B']);

      a.transport.publish('B', JSON.stringify({ from: 'b', t: 'leave' }));
      b.transport.publish('B', JSON.stringify({ from: 'b', t: 'heartbeat' }));
      await marker(receiver, a, 'a', 'B');
      await marker(receiver, b, 'b', 'B');

      // the inbox compares the claimed sender with the socket's peer and drops the impostor
      should(bodies(receiver, 'a')).eql([JSON.stringify({ from: 'b', t: 'leave' })]);
      should(bodies(receiver, 'b')).eql([JSON.stringify({ from: 'b', t: 'heartbeat' })]);
    });

    it('connecting a peer twice keeps one socket: each message arrives once', async () => {
      const [sender, receiver] = await Promise.all([node(), node()]);
      await link(receiver, sender, 'sender', ['B']);
      receiver.transport.connectPeer('sender', sender.pubUrl);
      sender.transport.publish('B', 'once');
      await marker(receiver, sender, 'sender', 'B');
      should(bodies(receiver, 'sender')).eql(['once']);
    });

    it('a disconnected peer is not heard any more, the others still are', async () => {
      const [a, b, receiver] = await Promise.all([node(), node(), node()]);
      await link(receiver, a, 'a', ['B']);
      await link(receiver, b, 'b', ['B']);
      receiver.transport.disconnectPeer('a');
      receiver.transport.disconnectPeer('unknown');

      for (let i = 0; i < 20; i++) {
        a.transport.publish('B', `a${i}`);
      }
      await marker(receiver, b, 'b', 'B');
      // a link to `a` again, under another name: its marker arrives, the old socket delivers nothing
      await link(receiver, a, 'a-again', ['B']);
      should(receiver.received.filter(r => r.peer === 'a')).eql([]);
    });

    it('consecutive envelopes of one topic leave as one message, in order', async () => {
      const [sender, receiver] = await Promise.all([node(), node()]);
      await link(receiver, sender, 'sender', ['B', 'Nreceiver']);
      const before = { ...sender.transport.sent };
      sender.transport.publish('B', 'b1');
      sender.transport.publish('B', 'b2');
      sender.transport.publish('Nreceiver', 'n1');
      sender.transport.publish('B', 'b3');
      await marker(receiver, sender, 'sender', 'Nreceiver');

      should(receiver.received.slice(0, 3).map(r => [r.topic, r.envelopes])).eql([
        ['B', ['b1', 'b2']], ['Nreceiver', ['n1']], ['B', ['b3']],
      ]);
      should(sender.transport.sent.envelopes - before.envelopes).equal(5);
    });
  });

  describe('requests (DEALER to ROUTER)', () => {
    it('a request reaches the ROUTER\'s handler as its frames; the reply comes back', async () => {
      const server = await node({ reply: frames => [`re:${frames[0].toString()}`, 'second'] });
      const client = await node();
      const reply = await client.transport.request(server.routerUrl, 'hello', 5000);
      should(reply.map(f => f.toString())).eql(['re:hello', 'second']);
      should(server.requests).eql([['hello']]);
    });

    it('a request left unanswered (null) fails with RequestTimeoutError naming the address', async () => {
      const server = await node({ reply: () => null });
      const client = await node();
      const error = await client.transport.request(server.routerUrl, 'hello', 100).then(() => null, (e: Error) => e);
      should(error).be.instanceOf(RequestTimeoutError);
      should(error?.message).equal(`no answer from ${server.routerUrl} within 100 ms`);
    });

    it('concurrent requests each get their own reply', async () => {
      const server = await node({ reply: frames => [frames[0].toString().toUpperCase()] });
      const client = await node();
      const replies = await Promise.all(['a', 'b', 'c'].map(body => client.transport.request(server.routerUrl, body, 5000)));
      should(replies.map(r => r[0].toString())).eql(['A', 'B', 'C']);
    });
  });

  describe('limits', () => {
    it('a peer\'s frame above maxMessageSize reaches the inbox (which drops and counts it), and the link goes on', async () => {
      const sender = await node();
      const receiver = await node({ maxMessageSize: 2048 });
      await link(receiver, sender, 'sender', ['B']);
      sender.transport.publish('B', 'x'.repeat(4096));
      sender.transport.publish('B', 'small');
      await marker(receiver, sender, 'sender', 'B');
      should(bodies(receiver, 'sender').map(b => b.length)).eql([4096, 5]);
    });
  });

  describe('close', () => {
    it('stops everything: nothing published or received any more, requests unanswered, queue emptied', async () => {
      const [sender, receiver] = await Promise.all([node(), node()]);
      await link(receiver, sender, 'sender', ['B']);
      const client = await node();

      sender.transport.publish('B', 'queued, never sent');
      should(sender.transport.queued).equal(1);
      sender.transport.close();
      should(sender.transport.queued).equal(0);
      const sent = { ...sender.transport.sent };
      sender.transport.publish('B', 'after close');
      should(sender.transport.queued).equal(0);
      should(sender.transport.dropped).equal(0);
      should(sender.transport.sent).eql(sent);

      const error = await client.transport.request(sender.routerUrl, 'hello', 200).then(() => null, (e: Error) => e);
      should(error).be.instanceOf(RequestTimeoutError);
      should(sender.requests).eql([]);

      // close() twice is harmless; a closed receiver makes no new SUB
      sender.transport.close();
      receiver.transport.close();
      receiver.transport.connectPeer('late', sender.pubUrl);
      should(bodies(receiver, 'sender')).eql([]);
    });

    it('drain() resolves once the queue is handed to 0mq', async () => {
      const [sender, receiver] = await Promise.all([node(), node()]);
      await link(receiver, sender, 'sender', ['B']);
      for (let i = 0; i < 500; i++) {
        sender.transport.publish('B', `m${i}`);
      }
      should(sender.transport.queued).equal(500);
      await sender.transport.drain(10000);
      should(sender.transport.queued).equal(0);
      await eventually('all received', () => bodies(receiver, 'sender').length === 500);
    });
  });
});
