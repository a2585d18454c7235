// A third-party client: @polkadot/api with no custom type definitions (everything comes from the
// runtime metadata). Bob requests inference, the script waits for the InferenceAttested event,
// then reads the result from storage and through the inference_getResult RPC method.
// Usage: node polkadot_api_request.mjs WS_URL MODEL_ID INPUT_HEX MAX_FEE
// Prints one JSON line: {"requestId", "output", "attesters", "rpcResult"}.
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';

const [url, modelId, inputHex, maxFee] = process.argv.slice(2);
const provider = new WsProvider(url);
const api = await ApiPromise.create({ provider, noInitWarn: true });
const bob = new Keyring({ type: 'sr25519' }).addFromUri('//Bob');

const model = await api.query.inference.models(modelId);
if (model.isNone) throw new Error(`model ${modelId} is not registered`);
console.error(`model status ${model.unwrap().status.toString()}`);

const requestId = await new Promise((resolve, reject) => {
  api.tx.inference.requestInference(modelId, inputHex, maxFee, null)
    .signAndSend(bob, ({ status, events, dispatchError }) => {
      if (dispatchError) reject(new Error(dispatchError.toString()));
      if (!status.isInBlock) return;
      const requested = events.find(({ event }) => api.events.inference.InferenceRequested.is(event));
      if (!requested) reject(new Error('no InferenceRequested event'));
      else resolve(requested.event.data.requestId.toBigInt());
    }).catch(reject);
});
console.error(`request ${requestId} submitted`);

await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no result within 120 s')), 120_000);
  api.query.system.events((events) => {
    for (const { event } of events) {
      if (api.events.inference.InferenceAttested.is(event) && event.data.requestId.toBigInt() === requestId) {
        clearTimeout(timer);
        resolve();
      }
      if (api.events.inference.RequestExpired.is(event) && event.data.requestId.toBigInt() === requestId) {
        reject(new Error('the request expired'));
      }
    }
  });
});

const result = (await api.query.inference.results(requestId)).unwrap();
const rpcResult = await provider.send('inference_getResult', [Number(requestId)]);
console.log(JSON.stringify({
  requestId: Number(requestId),
  output: result.output.toHex(),
  attesters: result.attesters.length,
  rpcResult,
}));
await api.disconnect();
process.exit(0);
