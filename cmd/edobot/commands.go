package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// command is one of the binary's commands: its name (one or two words),
// what it takes, what it does and how it runs. The usage of the binary and
// of each command is made from this table.
type command struct {
	name  string   // "org add"
	args  string   // "--bin BIN --name NAME [--subscription-until YYYY-MM-DD]"
	about []string // what it does, a line each
	flags []string // each of its arguments, a line each; nil when it takes none
	run   func(ctx context.Context, e env, args []string) error
	// noConfig: it runs whatever the configuration says.
	noConfig bool
}

// env is what a command runs with.
type env struct {
	cfg            config
	stdout, stderr io.Writer
	log            *slog.Logger
}

// commands is the table of the binary's commands, in the order its usage
// lists them.
func commands() []command {
	return []command{
		{name: "serve", about: []string{"run the service (creates the database and migrates first)"},
			run: func(ctx context.Context, e env, _ []string) error { return serve(ctx, e.cfg, e.log) }},
		{name: "demo", about: []string{"run the service with a demo sender, counterparty and document,",
			"signed on its link page with keys only this process trusts"},
			run: func(ctx context.Context, e env, args []string) error { return runDemo(ctx, e, args) }},
		{name: "migrate", about: []string{"create the database if missing and apply migrations"},
			run: func(ctx context.Context, e env, _ []string) error { return migrate(ctx, e.cfg, e.stdout) }},
		{name: "org add", args: "--bin BIN --name NAME [--subscription-until YYYY-MM-DD]",
			about: []string{"register an organisation (or update its name and subscription);",
				"without a date a new one gets the trial (EDOBOT_TRIAL), a known one",
				"keeps its subscription"},
			flags: []string{"--bin BIN                         BIN, or IIN of a sole proprietor",
				"--name NAME                       the organisation's name",
				"--subscription-until YYYY-MM-DD   the subscription's last day"},
			run: func(ctx context.Context, e env, args []string) error { return orgAdd(ctx, e.cfg, args, e.stdout) }},
		{name: "org list", about: []string{"every organisation: number, name, subscription, API keys,",
			"chats, webhook"},
			run: func(ctx context.Context, e env, args []string) error { return orgList(ctx, e.cfg, args, e.stdout) }},
		{name: "org show", args: "BIN", about: []string{"one organisation: its subscription (trial or paid), API keys, webhook,",
			"bound chats and documents"},
			run: func(ctx context.Context, e env, args []string) error { return orgShow(ctx, e.cfg, args, e.stdout) }},
		{name: "apikey create", args: "--org BIN", about: []string{"create an API key for the organisation; it is printed once"},
			flags: []string{"--org BIN   BIN/IIN of the organisation"},
			run: func(ctx context.Context, e env, args []string) error {
				return apikeyCreate(ctx, e.cfg, args, e.stdout, e.stderr)
			}},
		{name: "apikey list", args: "--org BIN", about: []string{"the organisation's keys: id, prefix, created, last used, revoked"},
			flags: []string{"--org BIN   BIN/IIN of the organisation"},
			run:   func(ctx context.Context, e env, args []string) error { return apikeyList(ctx, e.cfg, args, e.stdout) }},
		{name: "apikey revoke", args: "ID", about: []string{"revoke a key: it is refused from the next request on"},
			flags: []string{"ID   the key's number, from apikey list"},
			run: func(ctx context.Context, e env, args []string) error {
				return apikeyRevoke(ctx, e.cfg, args, e.stdout)
			}},
		{name: "webhook set", args: "--org BIN --url URL", about: []string{"send the organisation's status changes to URL, signed with",
			"HMAC-SHA256; prints the new secret once"},
			flags: []string{"--org BIN   BIN/IIN of the organisation",
				"--url URL   the accounting system's endpoint: https://, or http:// to this machine"},
			run: func(ctx context.Context, e env, args []string) error {
				return webhookSet(ctx, e.cfg, args, e.stdout, e.stderr)
			}},
		{name: "webhook show", args: "--org BIN", about: []string{"where the organisation's status changes go (not the secret)"},
			flags: []string{"--org BIN   BIN/IIN of the organisation"},
			run:   func(ctx context.Context, e env, args []string) error { return webhookShow(ctx, e.cfg, args, e.stdout) }},
		{name: "webhook remove", args: "--org BIN", about: []string{"stop sending the organisation's status changes"},
			flags: []string{"--org BIN   BIN/IIN of the organisation"},
			run: func(ctx context.Context, e env, args []string) error {
				return webhookRemove(ctx, e.cfg, args, e.stdout)
			}},
		{name: "whatsapp link", args: "[--phone +77011234567]", about: []string{"link the bot's WhatsApp account: a QR in the terminal, or a",
			"pairing code for the number"},
			flags: []string{"--phone +77011234567   the bot's number: link by a pairing code instead of a QR"},
			run: func(ctx context.Context, e env, args []string) error {
				return whatsappLink(ctx, e.cfg, args, e.stdout, e.log)
			}},
		{name: "verify", args: "--data FILE [--ca PEM] [--purpose sign|auth] SIGNATURE...",
			about: []string{"verify CMS signatures over a document offline; prints JSON,",
				"one object per signer; exits 0 only when every one is valid"},
			flags: []string{"--data FILE            the signed document",
				"--ca PEM               a PEM bundle of more trusted CAs (repeatable)",
				"--purpose sign|auth    sign (a signing key is required, the default) or auth",
				"SIGNATURE...           CMS files, DER or base64"},
			run: func(ctx context.Context, e env, args []string) error { return verifyFiles(ctx, e.cfg, args, e.stdout) }},
		{name: "trust show", about: []string{"list the CA certificates signatures must chain to"},
			run: func(ctx context.Context, e env, args []string) error {
				return trustCommand(ctx, e.cfg, append([]string{"show"}, args...), e.stdout, e.log)
			}},
		{name: "trust update", about: []string{"download NCA's CA certificates now and say what changed;",
			"exits 1 when one could not be downloaded or was refused"},
			run: func(ctx context.Context, e env, args []string) error {
				return trustCommand(ctx, e.cfg, append([]string{"update"}, args...), e.stdout, e.log)
			}},
		{name: "env", about: []string{"print the environment variables it reads, as Markdown"}, noConfig: true,
			run: func(_ context.Context, e env, _ []string) error {
				fmt.Fprint(e.stdout, markdown(new(config).variables()))
				return nil
			}},
		{name: "version", about: []string{"print the version"}, noConfig: true,
			run: func(_ context.Context, e env, _ []string) error {
				fmt.Fprintln(e.stdout, "edobot", version())
				return nil
			}},
	}
}

const usageHead = "edobot — documents to sign with the Kazakhstan digital signature, from a chat.\n\n"

// usage is the binary's usage: every command of the table.
func usage() string {
	return usageHead + "Usage:\n" + listing(commands()) +
		"\n`edobot COMMAND --help` tells more of a command. Configuration comes from environment variables; see README.md.\n"
}

// listing lists commands a line (or more) each, their descriptions in a
// column.
func listing(cmds []command) string {
	const column = 39
	var b strings.Builder
	for _, c := range cmds {
		head := strings.TrimSpace("  edobot " + c.name + " " + c.args)
		head = "  " + head
		for i, line := range c.about {
			switch {
			case i == 0 && len(head) < column-1:
				fmt.Fprintf(&b, "%-*s%s\n", column, head, line)
			case i == 0:
				fmt.Fprintf(&b, "%s\n%*s%s\n", head, column, "", line)
			default:
				fmt.Fprintf(&b, "%*s%s\n", column, "", line)
			}
		}
	}
	return b.String()
}

// help is one command's usage.
func (c command) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n\n", strings.TrimSpace("edobot "+c.name+" "+c.args))
	for _, line := range c.about {
		fmt.Fprintln(&b, line)
	}
	if len(c.flags) > 0 {
		fmt.Fprintln(&b)
		for _, f := range c.flags {
			fmt.Fprintln(&b, "  "+f)
		}
	}
	return b.String()
}

// group is the usage of the commands whose name starts with word ("org"),
// or "" when there are none.
func group(word string) string {
	var in []command
	for _, c := range commands() {
		if strings.HasPrefix(c.name, word+" ") {
			in = append(in, c)
		}
	}
	if len(in) == 0 {
		return ""
	}
	return "Usage:\n" + listing(in) + "\n`edobot " + word + " COMMAND --help` tells more of a command.\n"
}

// find is the command args name and the arguments that follow its name.
func find(args []string) (command, []string, bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// asksHelp reports whether the arguments ask for help: -h, -help or --help
// before any "--".
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
