export async function startMesh<V>(_o: unknown): Promise<never> {
  throw new Error('mesh: not built yet')
}
