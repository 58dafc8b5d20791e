import { strykerConfig } from '../../stryker.base.mjs'
// Ed25519 signatures and the publisher keys a node trusts
export default strykerConfig('signing', ['src/ed25519.ts', 'src/sign.ts', 'src/verify.ts', 'src/public-key.ts', 'src/trusted-keys.ts'])
