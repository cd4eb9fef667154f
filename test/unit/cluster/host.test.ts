import should from 'should';
import sinon from 'sinon';

import { HostLink } from '../../../lib/cluster/host';
import type { ClusterHost, LocalRoom } from '../../../lib/cluster/host';
import type { DirectPayload, HostPayload } from '../../../lib/cluster/messages';
import type { RoomChanges } from '../../../lib/cluster/roomRegistry';
import { RecordingLog, StubOf } from '../../support/coreFakes';

const filter = { collection: 'c', filters: [[{ exists: 'a' }]], index: 'i' };

describe('HostLink', () => {
  let host: {
    roomsChanged: StubOf<ClusterHost['roomsChanged']>;
    localRooms: StubOf<ClusterHost['localRooms']>;
    onSync: StubOf<ClusterHost['onSync']>;
    onNotification: StubOf<ClusterHost['onNotification']>;
    refresh: StubOf<ClusterHost['refresh']>;
    onJoined: StubOf<ClusterHost['onJoined']>;
  };
  let log: RecordingLog;
  let link: HostLink;

  const changes: RoomChanges = { appeared: [{ filter, room: 'r1' }], vanished: [] };
  const sync: HostPayload = { t: 'validators' };
  const notification: DirectPayload = { content: {}, request: { data: {}, options: {} }, room: 'r1', scope: 'in', t: 'user' };

  beforeEach(() => {
    host = {
      localRooms: sinon.stub<[], LocalRoom[]>().returns([]),
      onJoined: sinon.stub<[], Promise<void>>().resolves(),
      onNotification: sinon.stub<[string, DirectPayload], Promise<void> | void>().resolves(),
      onSync: sinon.stub<[string, HostPayload], Promise<void> | void>().resolves(),
      refresh: sinon.stub<[], Promise<void>>().resolves(),
      roomsChanged: sinon.stub<[RoomChanges], void>(),
    };
    log = new RecordingLog();
    link = new HostLink(log);
  });

  describe('bound', () => {
    beforeEach(() => link.bind(host));

    it('passes each call on, with its arguments, and waits for the host', async () => {
      let finish: () => void = () => undefined;
      host.onSync.returns(new Promise<void>(resolve => {
        finish = resolve;
      }));
      let done = false;
      const syncing = link.onSync('p1', sync).then(() => {
        done = true;
      });
      await new Promise(resolve => setImmediate(resolve));
      should(done).be.false();
      finish();
      await syncing;
      should(host.onSync.firstCall.args).eql(['p1', sync]);

      await link.onNotification('p2', notification);
      should(host.onNotification.firstCall.args).eql(['p2', notification]);
      await link.refresh();
      await link.onJoined();
      should(host.refresh.calledOnce).be.true();
      should(host.onJoined.calledOnce).be.true();

      link.roomsChanged(changes);
      should(host.roomsChanged.firstCall.args).eql([changes]);

      const rooms = [{ count: 1, filter, room: 'r1' }];
      host.localRooms.returns(rooms);
      should(link.localRooms()).equal(rooms);
      should(log.lines).eql([]);
    });

    it('accepts a host answering synchronously', async () => {
      host.onSync.returns(undefined);
      host.onNotification.returns(undefined);
      await link.onSync('p1', sync);
      await link.onNotification('p1', notification);
      should(host.onSync.calledOnce).be.true();
      should(log.lines).eql([]);
    });

    it('does not bother the host with room changes that change nothing', () => {
      link.roomsChanged({ appeared: [], vanished: [] });
      should(host.roomsChanged.called).be.false();
      link.roomsChanged({ appeared: [], vanished: [{ filter, room: 'r1' }] });
      should(host.roomsChanged.calledOnce).be.true();
    });

    it('logs the host\'s failures, rejected or thrown, never passing them to the protocol', async () => {
      host.onSync.rejects(new Error('sync failed'));
      host.onNotification.throws(new Error('notification failed'));
      host.refresh.rejects(new Error('refresh failed'));
      host.onJoined.rejects(new Error('exchange failed'));
      host.roomsChanged.throws(new Error('koncorde failed'));

      await link.onSync('p1', sync);
      await link.onNotification('p1', notification);
      await link.refresh();
      await link.onJoined();
      link.roomsChanged(changes);

      const errors = log.at('error');
      should(errors).have.length(5);
      should(errors[0]).match(/^Error: sync failed\n\s+at /);
      should(errors[1]).match(/^Error: notification failed/);
      should(errors[2]).match(/^Error: refresh failed/);
      should(errors[3]).match(/^Error: exchange failed/);
      should(errors[4]).equal('cannot apply room changes: koncorde failed');
    });

    it('lets a failure of localRooms through (the caller needs the rooms or nothing)', () => {
      host.localRooms.throws(new Error('no rooms'));
      should(() => link.localRooms()).throw('no rooms');
    });

    it('calls the host bound last', async () => {
      const other = { ...host, onSync: sinon.stub<[string, HostPayload], Promise<void> | void>().resolves() };
      link.bind(other);
      await link.onSync('p1', sync);
      should(other.onSync.calledOnce).be.true();
      should(host.onSync.called).be.false();
    });
  });

  describe('not bound yet', () => {
    it('says the node is not started: logged for messages, thrown for localRooms', async () => {
      await link.onSync('p1', sync);
      await link.onNotification('p1', notification);
      await link.refresh();
      await link.onJoined();
      link.roomsChanged(changes);
      should(log.at('error')).have.length(5);
      for (const line of log.at('error')) {
        should(line).match(/the cluster node is not started/);
      }
      should(() => link.localRooms()).throw('the cluster node is not started');
    });

    it('ignores empty room changes without complaining', () => {
      link.roomsChanged({ appeared: [], vanished: [] });
      should(log.lines).eql([]);
    });
  });
});
