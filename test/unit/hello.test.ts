import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { InvalidMessageError } from '../../src/errors.js'
import { helloBody, keyspaceMismatches, mergeHello } from '../../src/mesh/hello.js'
import { PeerTable } from '../../src/mesh/peer-table.js'

const newId = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('hello (membership exchange)', () => {
  it('teaches the sender region and every valid member with its addresses', async () => {
    const [self, sender, member] = [await newId(), await newId(), await newId()]
    const remote = new PeerTable('eu-west')
    remote.upsert(member, 0).addrs.push(`/ip4/127.0.3.1/tcp/1/p2p/${member}`)
    remote.get(member)!.region = 'ap-south'
    const body = helloBody(sender, 'eu-west', [`/ip4/127.0.2.1/tcp/1/p2p/${sender}`], remote.all())
    const mine = new PeerTable('us-east')
    mergeHello(mine, body, sender, self, 100)
    expect(mine.get(sender)).toMatchObject({ region: 'eu-west', connected: true, lastSeen: 100 })
    expect(mine.get(member)).toMatchObject({
      region: 'ap-south',
      addrs: [`/ip4/127.0.3.1/tcp/1/p2p/${member}`],
    })
  })

  it('skips bad rows and rejects a malformed message', async () => {
    const [self, sender, member] = [await newId(), await newId(), await newId()]
    const mine = new PeerTable('us-east')
    mergeHello(
      mine,
      {
        region: 'eu-west',
        peers: [
          ['not-a-peer-id', 'x', []],
          [self, 'x', ['/ip4/1.2.3.4/tcp/1']], // itself: ignored
          [
            member,
            'bad region!',
            [`/ip4/127.0.0.9/tcp/1/p2p/${sender}`, `/ip4/127.0.0.9/tcp/2/p2p/${member}`, 42],
          ],
        ],
      },
      sender,
      self,
      0,
    )
    expect(mine.get(self)).toBeUndefined()
    expect(mine.get('not-a-peer-id')).toBeUndefined()
    expect(mine.get(member)).toMatchObject({
      region: undefined,
      addrs: [`/ip4/127.0.0.9/tcp/2/p2p/${member}`],
    })
    for (const bad of [
      null,
      'hi',
      { region: 'has space', peers: [] },
      { region: 'eu', peers: 'x' },
    ]) {
      expect(() => mergeHello(mine, bad, sender, self, 0)).toThrow(InvalidMessageError)
    }
  })

  it('names the keyspaces whose maxTtl differs from ours, ignoring malformed rows', () => {
    const mine = new Map([
      ['sessions', 86_400_000],
      ['carts', 3_600_000],
    ])
    const body = helloBody(
      'x',
      'eu-west',
      [],
      [],
      [
        ['sessions', 604_800_000],
        ['carts', 3_600_000],
        ['theirs-only', 1],
      ],
    )
    expect(keyspaceMismatches(body, mine)).toEqual(['sessions'])
    expect(keyspaceMismatches({ ks: [['sessions', 'x'], 'junk', null] }, mine)).toEqual([])
    expect(keyspaceMismatches(null, mine)).toEqual([])
  })
})
