package main

import "context"

func demo(ctx context.Context, e env, args []string) error { return nil }
