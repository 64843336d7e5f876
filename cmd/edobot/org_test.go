package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"edobot/core"
	"edobot/storage/storagetest"
)

// Every command and group answers --help (and -h) with its own usage on
// stdout, once, and exit 0, whatever the configuration says.
func TestHelpOfEveryCommand(t *testing.T) {
	t.Setenv("LOG_LEVEL", "shout") // a bad value must not stop a help
	out, errOut, code := runCmd(t, "--help")
	if code != 0 || errOut != "" || !strings.Contains(out, "edobot org show BIN") {
		t.Fatalf("edobot --help: %d %q %q", code, out, errOut)
	}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		for _, h := range []string{"--help", "-h"} {
			out, errOut, code := runCmd(t, append(words, h)...)
			want := "Usage: edobot " + c.name
			if code != 0 || errOut != "" || !strings.HasPrefix(out, want) || strings.Count(out, "Usage:") != 1 {
				t.Errorf("edobot %s %s: exit %d, stdout %q, stderr %q", c.name, h, code, out, errOut)
			}
		}
		if out, _, code := runCmd(t, append([]string{"help"}, words...)...); code != 0 || !strings.HasPrefix(out, "Usage: edobot "+c.name) {
			t.Errorf("edobot help %s: %d %q", c.name, code, out)
		}
	}
	for _, g := range []string{"org", "apikey", "webhook", "whatsapp", "trust"} {
		out, errOut, code := runCmd(t, g, "--help")
		if code != 0 || errOut != "" || !strings.Contains(out, "edobot "+g+" ") {
			t.Errorf("edobot %s --help: %d %q %q", g, code, out, errOut)
		}
		if _, errOut, code := runCmd(t, g); code != 2 || !strings.Contains(errOut, "needs a command") {
			t.Errorf("edobot %s: %d %q", g, code, errOut)
		}
	}
	// A wrong use prints the command's usage, not the whole binary's.
	t.Setenv("LOG_LEVEL", "info")
	_, errOut, code = runCmd(t, "whatsapp", "link", "--phone")
	if code != 2 || strings.Count(errOut, "Usage:") != 1 || strings.Contains(errOut, "edobot serve") {
		t.Fatalf("whatsapp link --phone: %d %q", code, errOut)
	}
}

// org add without a date gives a new organisation the trial a chat
// registration gives; org list and org show tell what the operator needs.
func TestOrgTrialListShow(t *testing.T) {
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("EDOBOT_LANG", "ru")
	t.Setenv("EDOBOT_TRIAL", "240h")
	bin := storagetest.RandomBIN()
	// The trial's end as of before and after the command: they differ
	// when it runs across midnight in Kazakhstan.
	endOf := func() string { return time.Now().In(core.KazakhstanTime).Add(240 * time.Hour).Format(time.DateOnly) }
	before := endOf()
	out, errOut, code := runCmd(t, "org", "add", "--bin", bin, "--name", "ТОО «Проба»")
	end, after := before, endOf()
	if strings.Contains(out, "until "+after+" (trial)") {
		end = after
	}
	if code != 0 || !strings.Contains(out, "until "+end+" (trial)") {
		t.Fatalf("org add without a date: %d %q %q, want the trial until %s", code, out, errOut, end)
	}
	if _, _, code := runCmd(t, "apikey", "create", "--org", bin); code != 0 {
		t.Fatal("apikey create")
	}
	if _, _, code := runCmd(t, "webhook", "set", "--org", bin, "--url", "https://1c.example.kz/hook"); code != 0 {
		t.Fatal("webhook set")
	}
	paid := storagetest.RandomBIN()
	if _, _, code := runCmd(t, "org", "add", "--bin", paid, "--name", "ТОО «Оплачено»", "--subscription-until", "2099-01-31"); code != 0 {
		t.Fatal("org add paid")
	}

	out, errOut, code = runCmd(t, "org", "list")
	if code != 0 {
		t.Fatalf("org list: %d %q", code, errOut)
	}
	line := func(number string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, number+" ") {
				return l
			}
		}
		t.Fatalf("org list has no %s: %q", number, out)
		return ""
	}
	if l := line(bin); !strings.Contains(l, "ТОО «Проба»") || !strings.Contains(l, "(trial)") || !strings.Contains(l, "https://1c.example.kz/hook") {
		t.Fatalf("org list, the trial one: %q", l)
	}
	if l := line(paid); !strings.Contains(l, "until 2099-01-31") || strings.Contains(l, "trial") {
		t.Fatalf("org list, the paid one: %q", l)
	}

	out, errOut, code = runCmd(t, "org", "show", bin)
	for _, want := range []string{"Name:", "ТОО «Проба»", "Number:", bin, "Trial:", "yes", "API keys:", "1 active, 0 revoked",
		"Webhook:", "https://1c.example.kz/hook", "Bound chats:", "0", "until " + end} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("org show: %d %q %q, want %q", code, out, errOut, want)
		}
	}
	if _, errOut, code := runCmd(t, "org", "show", storagetest.RandomBIN()); code != 1 || !strings.Contains(errOut, "не зарегистрирована") {
		t.Fatalf("org show of an unknown one: %d %q", code, errOut)
	}
	if _, _, code := runCmd(t, "org", "show"); code != 2 {
		t.Fatalf("org show without a BIN: %d", code)
	}
	// The trial is stored as one: core sees it too.
	svc, done, err := openService(context.Background(), mustConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if o, err := svc.ShowOrganisation(context.Background(), paid); err != nil || o.Trial || o.SubscriptionUntil == nil {
		t.Fatalf("the paid one: %+v %v", o, err)
	}
}

func TestWebhookShowRemove(t *testing.T) {
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("EDOBOT_LANG", "ru")
	bin := storagetest.RandomBIN()
	if _, _, code := runCmd(t, "org", "add", "--bin", bin, "--name", "ТОО «Хук»"); code != 0 {
		t.Fatal("org add")
	}
	if out, _, code := runCmd(t, "webhook", "show", "--org", bin); code != 0 || !strings.Contains(out, "has no webhook") {
		t.Fatalf("show before set: %d %q", code, out)
	}
	secret, _, _ := runCmd(t, "webhook", "set", "--org", bin, "--url", "https://1c.example.kz/edo")
	out, _, code := runCmd(t, "webhook", "show", "--org", bin)
	if code != 0 || strings.TrimSpace(out) != "https://1c.example.kz/edo" || strings.Contains(out, strings.TrimSpace(secret)) {
		t.Fatalf("show: %d %q", code, out)
	}
	if out, _, code := runCmd(t, "webhook", "remove", "--org", bin); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %d %q", code, out)
	}
	if out, _, code := runCmd(t, "webhook", "show", "--org", bin); code != 0 || !strings.Contains(out, "has no webhook") {
		t.Fatalf("show after remove: %d %q", code, out)
	}
	if out, _, code := runCmd(t, "webhook", "remove", "--org", bin); code != 0 || !strings.Contains(out, "had no webhook") {
		t.Fatalf("remove twice: %d %q", code, out)
	}
	if _, errOut, code := runCmd(t, "webhook", "show", "--org", storagetest.RandomBIN()); code != 1 || !strings.Contains(errOut, "не зарегистрирована") {
		t.Fatalf("show for an unknown organisation: %d %q", code, errOut)
	}
	if _, _, code := runCmd(t, "webhook", "remove"); code != 2 {
		t.Fatalf("remove without --org: %d", code)
	}
}
