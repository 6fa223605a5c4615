import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DigestTree, FANOUT } from '../../src/sync/digest-tree.js'

/** The eager model: per leaf, the XOR of what was toggled into it; a node XORs its leaves. */
class EagerModel {
  private readonly leaves = new Map<number, [number, number]>()
  constructor(readonly depth: number) {}

  toggle(leaf: number, hi: number, lo: number): void {
    const [h, l] = this.leaves.get(leaf) ?? [0, 0]
    this.leaves.set(leaf, [(h ^ hi) >>> 0, (l ^ lo) >>> 0])
  }

  digest(level: number, index: number): [number, number] {
    const shift = 4 * (this.depth - level)
    let hi = 0
    let lo = 0
    for (const [leaf, [h, l]] of this.leaves) {
      if (leaf >>> shift !== index) continue
      hi ^= h
      lo ^= l
    }
    return [hi >>> 0, lo >>> 0]
  }
}

const u32 = fc.nat({ max: 0xffffffff })
type Op =
  | { t: 'toggle'; leaf: number; hi: number; lo: number }
  | { t: 'read'; level: number; index: number }
  | { t: 'packed'; level: number; index: number }

function ops(depth: number): fc.Arbitrary<Op[]> {
  const leaves = FANOUT ** depth
  return fc.array(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          t: fc.constant('toggle' as const),
          // Few distinct leaves, so toggles meet and cancel.
          leaf: fc.oneof(fc.nat({ max: leaves - 1 }), fc.constantFrom(0, 1, leaves - 1)),
          hi: u32,
          lo: u32,
        }),
      },
      {
        weight: 1,
        arbitrary: fc.nat({ max: depth }).chain((level) =>
          fc.record({
            t: fc.constantFrom('read' as const, 'packed' as const),
            level: fc.constant(level),
            index: fc.nat({ max: FANOUT ** level - 1 }),
          }),
        ),
      },
    ),
    { maxLength: 300 },
  )
}

describe('DigestTree: toggles applied in bulk', () => {
  it('every digest read equals the eager tree, whenever it is read and whatever the buffer (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 3 })
          .chain((depth) =>
            fc.tuple(fc.constant(depth), fc.integer({ min: 1, max: 9 }), ops(depth)),
          ),
        ([depth, buffered, list]) => {
          const tree = new DigestTree(depth, buffered)
          const eager = new DigestTree(depth, 1)
          const model = new EagerModel(depth)
          for (const op of list) {
            if (op.t === 'toggle') {
              tree.toggle(op.leaf, op.hi, op.lo)
              eager.toggle(op.leaf, op.hi, op.lo)
              model.toggle(op.leaf, op.hi, op.lo)
            } else if (op.t === 'read') {
              expect(tree.digest(op.level, op.index)).toEqual(model.digest(op.level, op.index))
              expect(eager.digest(op.level, op.index)).toEqual(model.digest(op.level, op.index))
            } else if (op.level < depth) {
              expect(tree.children(op.level, op.index)).toEqual(eager.children(op.level, op.index))
              expect(tree.packedChildren(op.level, [op.index, 0])).toEqual(
                eager.packedChildren(op.level, [op.index, 0]),
              )
            }
          }
          for (let level = 0; level <= depth; level++) {
            for (let index = 0; index < Math.min(FANOUT ** level, 40); index++) {
              expect(tree.digest(level, index)).toEqual(model.digest(level, index))
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('applies on its own once the buffer is full', () => {
    const tree = new DigestTree(2, 4)
    for (let i = 0; i < 9; i++) tree.toggle(i, i + 1, 0)
    // 1 ^ 2 ^ ... ^ 9 at the root, read after two bulk applies and one held toggle.
    expect(tree.digest(0, 0)).toEqual([1 ^ 2 ^ 3 ^ 4 ^ 5 ^ 6 ^ 7 ^ 8 ^ 9, 0])
  })
})
