export { LinkPlan, type NodeLinks, selectLinks, type TopologyBounds } from './link-plan.js'
export { localDegreeBound, localLinkRanks, localOffsets } from './local-links.js'
export { RegionRings, type TopologyMember } from './region-rings.js'
export {
  BIN_LOAD_FACTOR,
  ballsPerMember,
  binCapacity,
  PairLinks,
  pairDegreeBound,
} from './remote-pairing.js'
export { ringHash } from './ring-hash.js'
