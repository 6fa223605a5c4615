import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { logger } from '../log.js'

const log = logger('meshcache:mesh')

/**
 * Score parameters of a keyspace topic: an invalid batch (forged origin, far-future
 * stamps, malformed) costs its sender 100 points, past gossipsub's graylist threshold
 * (-80), so one bad message silences a peer until the penalty decays (x0.9 a second).
 * Delivery-rate penalties are off: cache writes are bursty, silence is not misbehaviour.
 */
export const TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 100,
  firstMessageDeliveriesWeight: 0.1,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 100,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -100,
  invalidMessageDeliveriesDecay: 0.9,
}

/**
 * Registers {@link TOPIC_SCORE} for a topic opened at run time. js-gossipsub takes topic
 * score parameters only at construction (and copies them), so the live parameter object is
 * extended; if its shape changes, scoring of the topic is skipped, never the topic.
 */
export function scoreTopic(pubsub: unknown, topic: string): void {
  const params = (pubsub as { score?: { params?: { topics?: Record<string, unknown> } } }).score
    ?.params
  if (params?.topics === undefined) {
    log('gossipsub score parameters not reachable; %s is not scored', topic)
    return
  }
  params.topics[topic] = createTopicScoreParams(TOPIC_SCORE)
}
