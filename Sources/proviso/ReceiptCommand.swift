import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoStore

/// The issuer named in receipts issued from this installation.
let receiptIssuer = ProcessInfo.processInfo.environment["PROVISO_ISSUER"] ?? "proviso"

/// The keys a signature is checked against: the published JWKS file when given (a third party's
/// way), else the keys in the store.
func verificationKeys(jwks: String?, globals: GlobalOptions) async throws -> [ReceiptKey] {
    if let jwks {
        do { return try ReceiptKey.keys(fromJWKS: try String(contentsOfFile: jwks, encoding: .utf8)) } catch {
            throw CLIError("cannot read the key set \(jwks): \(error)")
        }
    }
    do { return try await globals.openStore().receiptKeys() } catch { throw CLIError("cannot read the keys: \(error)") }
}

struct ReceiptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt", abstract: "Verify consent receipts and publish the keys that sign them.",
        subcommands: [Verify.self, JWKS.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a receipt (a compact JWS) offline; exit 1 if it is not genuine.",
            discussion: "Checks the Ed25519 signature against --jwks FILE (the published /.well-known/jwks.json) or, without it, the keys in --database.")

        @Argument(help: ArgumentHelp("Receipt file, or - for stdin.", valueName: "file")) var file: String
        @Option(help: ArgumentHelp("A JWKS document with the issuer's public keys.", valueName: "file")) var jwks: String?
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                    throw CLIError("cannot read \(file): \(error.localizedDescription)")
                }
            }
            let keys = try await verificationKeys(jwks: jwks, globals: globals)
            do {
                let r = try Receipt.verify(text, keys: keys)
                Output.stdout.line("valid receipt from \(r.issuer): member \(r.member) turned \(r.setting.code) \(r.on ? "on" : "off") "
                    + "effective \(Time.formatRFC3339(r.effectiveAt)) via \(r.channel.code); recorded \(Time.formatRFC3339(r.time)) "
                    + "at ledger seq \(r.seq), event hash \(r.eventHash), policy \(r.policyVersion)")
                Output.stdout.flush()
            } catch {
                Output.stdout.line("invalid receipt: \(error.message)")
                Output.stdout.flush()
                throw ExitCode(1)
            }
        }
    }

    struct JWKS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jwks", abstract: "Print the public keys that sign receipts (the same document as /.well-known/jwks.json).")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            do {
                _ = try await store.currentReceiptKey(now: Time.now())
                Output.stdout.line(ReceiptKey.jwks(try await store.receiptKeys()))
            } catch {
                throw CLIError("cannot read the keys: \(error)")
            }
            Output.stdout.flush()
        }
    }
}
