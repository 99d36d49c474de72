/**
 * Secrets the key storage and SSH tests use. Every one of them is searched
 * for in the logs of a whole test run by test/scan-secrets.mjs: the master
 * keys below (hex of "tandem-test-master-key-fixture-N"), passwords containing
 * "keystore-fixture-secret", and any PEM/OpenSSH private key.
 */
export const MASTER_KEY_1 = Buffer.from('tandem-test-master-key-fixture-1').toString('base64');
export const MASTER_KEY_2 = Buffer.from('tandem-test-master-key-fixture-2').toString('hex');
export const PASSWORD = 'keystore-fixture-secret-pw1';
export const PASSPHRASE = 'keystore-fixture-secret-passphrase';
