import ArgumentParser
import Foundation
import ProvisoCore
import ProvisoStore

struct OrgsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orgs", abstract: "Organisations and their admins (admins never see or change a member's settings).",
        subcommands: [Create.self, List.self, AddAdmin.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation.")
        @Argument(help: ArgumentHelp("Short id: 2–64 of a-z, 0-9 and -, starting with a letter.", valueName: "id")) var id: String
        @Option(help: "Display name.") var name: String
        @OptionGroup var globals: GlobalOptions

        func validate() throws {
            guard Organisation.isValidID(id) else { throw ValidationError("organisation id \"\(id)\" must be 2–64 of a-z, 0-9 and -, starting with a letter") }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 200 else { throw ValidationError("--name must be 1–200 characters") }
        }

        func run() async throws {
            let store = try await globals.openStore()
            do { try await store.createOrganisation(Organisation(id: id, name: name, createdAt: Time.now())) } catch {
                throw CLIError("cannot create organisation \(id): \(error)")
            }
            Output.stdout.line("created organisation \(id) (\(name))")
            Output.stdout.flush()
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations with their number of affiliated members.")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            do {
                for o in try await store.organisations() {
                    let n = try await store.affiliatedMembers(org: o.id).count
                    Output.stdout.line("\(o.id)\t\(o.name)\t\(n) affiliated")
                }
            } catch { throw CLIError("cannot list organisations: \(error)") }
            Output.stdout.flush()
        }
    }

    struct AddAdmin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-admin", abstract: "Make a member an admin of an organisation (idempotent).")
        @Argument(help: ArgumentHelp("Organisation id.", valueName: "org")) var org: String
        @Argument(help: ArgumentHelp("Member id.", valueName: "member")) var member: String
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let store = try await globals.openStore()
            do { try await store.addOrgAdmin(org: org, member: member, at: Time.now()) } catch {
                throw CLIError("cannot make \(member) an admin of \(org): \(error)")
            }
            Output.stdout.line("\(member) is an admin of \(org)")
            Output.stdout.flush()
        }
    }
}

struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roles", abstract: "Platform roles of members (compliance: the compliance dashboard and reports).",
        subcommands: [Grant.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a role to a member (idempotent).")
        @Argument(help: ArgumentHelp("Member id.", valueName: "member")) var member: String
        @Argument(help: ArgumentHelp("Role: \(MemberRole.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "role")) var role: String
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            guard let r = MemberRole(rawValue: role) else {
                throw CLIError("unknown role \"\(role)\" (roles: \(MemberRole.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let store = try await globals.openStore()
            do { try await store.grantRole(r, member: member, at: Time.now()) } catch { throw CLIError("cannot grant \(role) to \(member): \(error)") }
            Output.stdout.line("\(member) has the role \(role)")
            Output.stdout.flush()
        }
    }
}
