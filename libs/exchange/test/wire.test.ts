import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { create, toBinary, fromBinary } from '@bufbuild/protobuf'
import { MessageSchema } from '@codio/proto'
import { BinaryWriter } from '@bufbuild/protobuf/wire'
import { encodePiece } from '../src/wire.js'

describe('encodePiece', () => {
  it.each([
    [1n, 36, 1024 * 1024],
    [0n, 36, 100],
    [2n ** 63n + 5n, 36, 300],
    [127n, 0, 0],
    [128n, 36, 0]
  ])('gives the length-prefixed bytes toBinary gives (id %s, cid %i bytes, data %i bytes)', (id, cidBytes, dataBytes) => {
    const cid = randomBytes(cidBytes)
    const data = randomBytes(dataBytes)
    const list = encodePiece(id, cid, data)
    const expected = toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'piece', value: { id, cid, data } } }))
    // unsigned-varint length prefix, as lpStream writes it
    const prefixed = new BinaryWriter().uint32(expected.byteLength).raw(expected).finish()
    expect(Buffer.from(list.subarray()).equals(Buffer.from(prefixed))).toBe(true)
    // and decodes back to the same piece
    const decoded = fromBinary(MessageSchema, list.subarray().subarray(prefixed.byteLength - expected.byteLength))
    expect(decoded.payload.case).toBe('piece')
    if (decoded.payload.case !== 'piece') return
    expect(decoded.payload.value.id).toBe(id)
    expect(Buffer.from(decoded.payload.value.data).equals(data)).toBe(true)
  })

  it('does not copy the chunk: its buffer is the last one in the list', () => {
    const data = randomBytes(4096)
    const list = encodePiece(9n, randomBytes(36), data)
    const bufs = [...list]
    expect(bufs[bufs.length - 1]).toBe(data)
  })
})
