/**
 * A stack of one dynamic resource whose provider records every `diff` call (olds, news) in the file
 * $RECORDER_LOG and reads "the world" from $RECORDER_WORLD: what the stand-in engine asks of a
 * dynamic provider, and what it prints of the answers, can then be compared with Pulumi's rules
 * (test/unit/engineConformance.test.ts). $RECORDER_IMPORT adds a resource with the import option;
 * $RECORDER_SLOW and $RECORDER_CHAIN make a create that takes its time and one that waits for it;
 * $RECORDER_RAN names a file the program appends to as it runs.
 */
import { appendFileSync } from "fs";
import * as pulumi from "@pulumi/pulumi";

if (process.env.RECORDER_RAN) appendFileSync(process.env.RECORDER_RAN, "ran\n");

interface World {
  value: string;
  gone?: boolean;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    // $RECORDER_SLOW: a create that takes that many milliseconds (to interrupt one under way).
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.RECORDER_SLOW ?? 0)));
    return { id: "recorded", outs: { ...inputs, observed: inputs.value } };
  },
  async read(id, props) {
    const fs = await import("fs");
    const world = JSON.parse(fs.readFileSync(process.env.RECORDER_WORLD!, "utf8")) as World;
    // Console output of a provider: the engine relays it without a resource.
    console.log(`recorder read ${id}: the world holds ${world.value}`);
    return {
      id: world.gone ? "" : id,
      props: { ...props, observed: world.value },
      inputs: { value: world.value, token: props.token },
    };
  },
  async diff(_id, olds, news) {
    const fs = await import("fs");
    const shown = (props: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(props).filter(([key]) => !key.startsWith("__")));
    fs.appendFileSync(
      process.env.RECORDER_LOG!,
      `${JSON.stringify({ olds: shown(olds), news: shown(news) })}\n`,
    );
    return { changes: olds.observed !== news.value };
  },
  async update(_id, _olds, news) {
    return { outs: { ...news, observed: news.value } };
  },
};

class Recorded extends pulumi.dynamic.Resource {
  constructor(
    name: string,
    args: { value: pulumi.Input<string>; token: pulumi.Input<string> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(provider, name, { ...args, observed: undefined }, opts, "recorder", "Recorded");
  }
}

const recorded = new Recorded("r", {
  value: process.env.RECORDER_VALUE ?? "a",
  token: pulumi.secret("s3cr3t-token"),
});
// $RECORDER_CHAIN: a second resource that waits for the first (created only after it).
if (process.env.RECORDER_CHAIN) new Recorded("after", { value: recorded.id.apply(() => "b"), token: "t" });
if (process.env.RECORDER_IMPORT)
  new Recorded("imported", { value: "a", token: "t" }, { import: process.env.RECORDER_IMPORT });

export const id = recorded.id;
