import { strykerConfig } from '../../stryker.base.mjs'
// the manifest and its signature: encoding, decoding and its checks, signing, verification, size bounds
export default strykerConfig('content', ['src/encode-manifest.ts', 'src/decode-manifest.ts', 'src/sign-manifest.ts', 'src/verify-manifest.ts', 'src/manifest-size.ts', 'src/chunk-cid.ts', 'src/content-id.ts'])
