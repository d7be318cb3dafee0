/**
 * The stand-in engine's config secrets against Pulumi's passphrase secrets provider: a stack file
 * Pulumi wrote (its round-trip test, tests/roundtrip/roundtrip_test.go) decrypts here with its
 * passphrase, a wrong passphrase is refused as Pulumi refuses it, and `config set --secret` keeps
 * the file's comments and never writes the value in clear.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { load } from "js-yaml";
import { crypterFromState, readConfig, setConfig } from "../../tools/engine/secrets";

/** Written by `pulumi` with the passphrase TestConfigRoundtripComments. */
const PULUMI_SALT = "v1:ThS5UPxP9qc=:v1:UZYAXF+ylaJ0rGhv:9OTvBnOEDFgxs7btjzSu+LZ470vLpg==";
const PULUMI_SECURE = "v1:T1ftqhY0hqr+EJK6:+jvd5PMecFx80tcavzuZY4tLatgIfoe/xR72GA==";

describe("config secrets as the passphrase secrets provider keeps them", () => {
  const saved = { ...process.env };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gre-secrets-"));
  });
  afterEach(() => {
    process.env = { ...saved };
    rmSync(dir, { recursive: true, force: true });
  });

  it("decrypts a value Pulumi encrypted, with Pulumi's passphrase", () => {
    const crypter = crypterFromState("TestConfigRoundtripComments", PULUMI_SALT);
    expect(crypter.decrypt(PULUMI_SECURE)).toBe("secret-value");
  });

  it("refuses a wrong passphrase as Pulumi does", () => {
    expect(() => crypterFromState("not it", PULUMI_SALT)).toThrow("incorrect passphrase");
  });

  it("config set --secret: encrypted, comments kept, read back as a secret key", () => {
    const file = path.join(dir, "Pulumi.s.yaml");
    writeFileSync(file, "# the lab\nconfig:\n  pulumi-gre:settings: # settings\n    persist: false\n");
    process.env.PULUMI_CONFIG_PASSPHRASE = "lab passphrase";
    setConfig(file, "pulumi-gre", "gre1Psk", "a key of at least 16 characters", true);
    setConfig(file, "pulumi-gre", "other:plain", "x", false);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("a key of at least 16 characters");
    expect(text).toContain("# the lab");
    expect(text).toContain("# settings");
    expect(text).toMatch(/^encryptionsalt: v1:[A-Za-z0-9+/=]+:v1:/m);
    const stackFile = load(text) as Parameters<typeof readConfig>[0];
    expect(readConfig(stackFile, "pulumi-gre")).toEqual({
      config: {
        "pulumi-gre:settings": '{"persist":false}',
        "pulumi-gre:gre1Psk": "a key of at least 16 characters",
        "other:plain": "x",
      },
      secretKeys: ["pulumi-gre:gre1Psk"],
    });
    // A second secret uses the same salt.
    setConfig(file, "pulumi-gre", "second", "another value here", true);
    expect(readFileSync(file, "utf8").match(/encryptionsalt/g)).toHaveLength(1);
    process.env.PULUMI_CONFIG_PASSPHRASE = "wrong";
    expect(() => readConfig(load(readFileSync(file, "utf8")) as never, "pulumi-gre")).toThrow(
      "incorrect passphrase",
    );
    delete process.env.PULUMI_CONFIG_PASSPHRASE;
    expect(() => readConfig(load(readFileSync(file, "utf8")) as never, "pulumi-gre")).toThrow(
      "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE",
    );
    const phraseFile = path.join(dir, "phrase");
    writeFileSync(phraseFile, "lab passphrase\n");
    process.env.PULUMI_CONFIG_PASSPHRASE_FILE = phraseFile;
    expect(readConfig(load(readFileSync(file, "utf8")) as never, "pulumi-gre").secretKeys).toEqual([
      "pulumi-gre:gre1Psk",
      "pulumi-gre:second",
    ]);
  });
});
