import should from 'should';

import { Transport } from '../../lib/cluster/transport';
import { freePorts } from '../support/ports';
import { eventually } from '../support/coreNode';

interface Received {
  topic: string;
  envelopes: string[];
}

describe('transport (real 0mq, one process)', function () {
  this.timeout(30000);

  const transports: Transport[] = [];

  async function pair (highWaterMark: number): Promise<{ sender: Transport; received: Received[] }> {
    const [pubA, routerA, pubB, routerB] = await freePorts(4);
    const received: Received[] = [];
    const options = { curve: null, highWaterMark, maxMessageSize: 1024 * 1024 };
    const sender = new Transport({ ...options, pubUrl: `tcp://127.0.0.1:${pubA}`, routerUrl: `tcp://127.0.0.1:${routerA}` },
      () => undefined, async () => null);
    const receiver = new Transport({ ...options, pubUrl: `tcp://127.0.0.1:${pubB}`, routerUrl: `tcp://127.0.0.1:${routerB}` },
      (_peer, frames) => received.push({ envelopes: frames.slice(1).map(f => f.toString()), topic: frames[0].toString() }),
      async () => null);
    transports.push(sender, receiver);
    await sender.bind();
    await receiver.bind();
    receiver.setTopics(['B', 'Nreceiver']);
    receiver.connectPeer('sender', `tcp://127.0.0.1:${pubA}`);

    // PUB/SUB joins late: publish probes until one arrives
    await eventually('the subscription reached the sender', () => {
      sender.publish('B', 'probe');
      return received.length > 0;
    });
    await new Promise(resolve => setTimeout(resolve, 100));
    received.length = 0;
    return { received, sender };
  }

  after(() => {
    for (const transport of transports) {
      transport.close();
    }
  });

  it('sends a burst in order, batched per topic (at most 64 envelopes a message), nothing lost', async () => {
    const { sender, received } = await pair(50000);
    const before = { ...sender.sent };
    for (let i = 0; i < 10000; i++) {
      sender.publish(i % 3 === 0 ? 'Nreceiver' : 'B', JSON.stringify({ i }));
    }
    await eventually('every envelope received', () => received.reduce((n, m) => n + m.envelopes.length, 0) === 10000);

    const order = received.flatMap(m => m.envelopes.map(e => (JSON.parse(e) as { i: number }).i));
    should(order).eql(Array.from({ length: 10000 }, (_, i) => i));
    for (const message of received) {
      should(message.envelopes.length).be.within(1, 64);
      for (const envelope of message.envelopes) {
        should(message.topic).equal((JSON.parse(envelope) as { i: number }).i % 3 === 0 ? 'Nreceiver' : 'B');
      }
    }
    should(sender.sent.envelopes - before.envelopes).equal(10000);
    should(sender.sent.messages - before.messages).equal(received.length);
    should(received.length).be.below(10000);
    should(sender.dropped).equal(0);

    // one topic: full batches
    received.length = 0;
    for (let i = 0; i < 1000; i++) {
      sender.publish('B', JSON.stringify({ i }));
    }
    await eventually('the second burst received', () => received.reduce((n, m) => n + m.envelopes.length, 0) === 1000);
    should(Math.max(...received.map(m => m.envelopes.length))).equal(64);
    should(received.length).equal(Math.ceil(1000 / 64));
  });

  it('bounds its queue: beyond the high-water mark, envelopes are dropped and counted', async () => {
    const { sender, received } = await pair(100);
    // publish() only queues: the queue is flushed at the end of this event-loop turn
    for (let i = 0; i < 1000; i++) {
      sender.publish('B', JSON.stringify({ i }));
    }
    should(sender.dropped).equal(900);
    await eventually('the first 100 received', () => received.reduce((n, m) => n + m.envelopes.length, 0) === 100);
    should(received.flatMap(m => m.envelopes.map(e => (JSON.parse(e) as { i: number }).i)))
      .eql(Array.from({ length: 100 }, (_, i) => i));
  });
});
