/**
 * GreTunnel's provider, as a state reaches it: `pulumi-gre/provider-runtime/gre-tunnel`. The
 * module's whole export is the provider, so Pulumi's closure serializer writes the state's
 * `__provider` as one `require` of this path (see resources/runtimeProvider.ts). Never moves:
 * states name it.
 *
 * @packageDocumentation
 */
import { greTunnelProvider } from "../greTunnel/lifecycle";

export = greTunnelProvider;
