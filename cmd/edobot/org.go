package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"edobot/core"
)

// subscription says how long the organisation may send documents.
func subscription(o core.Organisation) string {
	if o.SubscriptionUntil == nil {
		return "none"
	}
	s := "until " + o.SubscriptionUntil.Format(time.DateOnly)
	if o.Trial {
		s += " (trial)"
	}
	return s
}

func orgList(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError("org list takes no arguments")
	}
	svc, done, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	orgs, err := svc.ListOrganisations(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tNAME\tSUBSCRIPTION\tAPI KEYS\tCHATS\tWEBHOOK")
	for _, o := range orgs {
		hook := "-"
		if o.WebhookURL != "" {
			hook = o.WebhookURL
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", o.Number, o.Name, subscription(o.Organisation), o.APIKeys, o.Chats, hook)
	}
	if len(orgs) == 0 {
		fmt.Fprintln(tw, "(none: `edobot org add`, or a chat's sign-in, registers one)")
	}
	return tw.Flush()
}

func orgShow(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("org show needs the organisation's BIN (or IIN)")
	}
	svc, done, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	o, err := svc.ShowOrganisation(ctx, args[0])
	if err != nil {
		return err
	}
	hook := "none"
	if o.WebhookURL != "" {
		hook = o.WebhookURL
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"Name", o.Name},
		{"Number", o.Number},
		{"Subscription", subscription(o.Organisation)},
		{"Trial", map[bool]string{true: "yes", false: "no"}[o.Trial]},
		{"API keys", fmt.Sprintf("%d active, %d revoked", o.APIKeys, o.RevokedKeys)},
		{"Webhook", hook},
		{"Bound chats", strconv.Itoa(o.Chats)},
		{"Documents sent", strconv.Itoa(o.DocumentsSent)},
		{"Registered", cliTime(&o.CreatedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// orgFlag parses a command whose one flag is --org BIN.
func orgFlag(name string, args []string) (string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bin := fs.String("org", "", "BIN/IIN of the organisation")
	if err := fs.Parse(args); err != nil {
		return "", usageError(err.Error())
	}
	if *bin == "" || fs.NArg() > 0 {
		return "", usageError(name + " needs --org BIN and nothing else")
	}
	return *bin, nil
}

// withOrg runs a command whose one flag is --org BIN: fn gets the BIN and
// the service, open until fn returns.
func withOrg(ctx context.Context, cfg config, name string, args []string, fn func(svc *core.Service, bin string) error) error {
	bin, err := orgFlag(name, args)
	if err != nil {
		return err
	}
	svc, done, err := openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	return fn(svc, bin)
}

func webhookShow(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	return withOrg(ctx, cfg, "webhook show", args, func(svc *core.Service, bin string) error {
		h, org, err := svc.OrganisationWebhook(ctx, bin)
		if errors.Is(err, core.ErrNotFound) {
			fmt.Fprintf(stdout, "%s (%s) has no webhook\n", org.Number, org.Name)
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, h.URL)
		return nil
	})
}

func webhookRemove(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	return withOrg(ctx, cfg, "webhook remove", args, func(svc *core.Service, bin string) error {
		removed, org, err := svc.RemoveWebhook(ctx, bin)
		if err != nil {
			return err
		}
		if !removed {
			fmt.Fprintf(stdout, "%s (%s) had no webhook\n", org.Number, org.Name)
			return nil
		}
		fmt.Fprintf(stdout, "webhook of %s (%s) removed: its status changes are no longer sent\n", org.Number, org.Name)
		return nil
	})
}
