package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
)

// RateLimit is what a messenger lets a bot send.
type RateLimit struct {
	PerSecond float64       // messages a second over all chats
	Burst     int           // messages allowed at once above PerSecond's spacing; 1 means none
	PerChat   time.Duration // least time between two messages to one chat
	// Jitter puts each message up to this much later at random, so that a
	// batch does not go out at a machine's even pace.
	Jitter time.Duration
}

// Limits Telegram documents for bots: about 30 messages a second overall and
// one a second to a private chat. WhatsApp documents none for a linked
// account; its users report trouble above a few messages a minute, so about
// 20 a minute, unevenly spaced.
var (
	TelegramLimit = RateLimit{PerSecond: 30, Burst: 5, PerChat: time.Second}
	WhatsAppLimit = RateLimit{PerSecond: 20.0 / 60, Burst: 1, PerChat: 3 * time.Second, Jitter: 3 * time.Second}
)

// Limiter spaces messages by GCRA (the generic cell rate algorithm) over
// keys in Redis, so every instance of edobot draws on the same allowance.
// The Lua script reads Redis's own clock, so the instances' clocks need not
// agree.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	// OnGrant, when set, is told of every slot reserved, as the script
	// decided it: what tests check the limits by, across instances.
	OnGrant func(Grant)
	// clock, when a test sets it, is the time the limiter reckons in instead
	// of Redis's, and what its waits wait on; nil in the service.
	clock clockwork.Clock
}

// Grant is a message's slot: when, in the limiter's clock (Redis's, or a
// test's), the message to a chat of a channel may go.
type Grant struct {
	Channel string
	Chat    string
	At      time.Time
}

// clockArgs are the scripts' last two arguments: the moment to reckon from
// in microseconds (0: Redis's own clock) and how many milliseconds a key
// outlives the time it holds. With a test's clock, which moves only when
// the test says, a key must outlive however long the test takes in real
// time.
func (l *Limiter) clockArgs() []any {
	if l.clock == nil {
		return []any{0, 1000}
	}
	return []any{l.clock.Now().UnixMicro(), time.Hour.Milliseconds()}
}

// now is the limiter's time on this machine.
func (l *Limiter) now() time.Time {
	if l.clock == nil {
		return time.Now()
	}
	return l.clock.Now()
}

// sleep waits for d on the limiter's clock, or until ctx ends.
func (l *Limiter) sleep(ctx context.Context, d time.Duration) error {
	if l.clock == nil || d <= 0 {
		return sleep(ctx, d)
	}
	t := l.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scriptNow is the start of every script: the moment to reckon from (the
// caller's, or Redis's clock) and the keys' extra life, from the last two
// arguments.
const scriptNow = `
local now = tonumber(ARGV[#ARGV - 1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local keep = tonumber(ARGV[#ARGV])
`

// NewLimiter keeps its keys under prefix.
func NewLimiter(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix}
}

// reserveScript takes one message's slot from both the channel's overall key
// (KEYS[1]) and the chat's key (KEYS[2]), at one moment common to both, or
// from neither. A chat that must wait is turned away at once without
// reserving anything overall: holding an overall slot for a chat's later
// turn would leave the slots in between unused. Times are microseconds.
//
// ARGV: overall emission interval, overall burst tolerance, per-chat
// interval, the longest wait for an overall slot worth reserving, then
// clockArgs. Returns {reserved (0/1), wait, 1 when the chat is what holds
// it back, the slot's time when reserved}.
var reserveScript = redis.NewScript(scriptNow + `
local every = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local chatEvery = tonumber(ARGV[3])
local maxWait = tonumber(ARGV[4])
local chatTat = tonumber(redis.call('GET', KEYS[2]) or '0')
if chatTat > now then
  return {0, chatTat - now, 1}
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, tat - tau)
if at - now > maxWait then
  return {0, at - now, 0}
end
local newTat = math.max(tat, at) + every
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.floor((newTat - now) / 1000) + keep)
if chatEvery > 0 then
  redis.call('SET', KEYS[2], string.format('%.0f', at + chatEvery), 'PX', math.floor((at + chatEvery - now) / 1000) + keep)
end
return {1, at - now, 0, at}
`)

// penalizeScript pushes a key's next allowed time to at least now + ARGV[1]
// microseconds. ARGV then holds clockArgs.
var penalizeScript = redis.NewScript(scriptNow + `
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = now + tonumber(ARGV[1])
if want > tat then
  redis.call('SET', KEYS[1], string.format('%.0f', want), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + keep)
end
return 1
`)

// planScript books the next turn of a chat (KEYS[1]) ARGV[1] microseconds
// after its last booked one, and returns how far ahead of now it is. ARGV
// then holds clockArgs.
var planScript = redis.NewScript(scriptNow + `
local at = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local every = tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', at + every), 'PX', math.floor((at + every - now) / 1000) + keep)
return at - now
`)

// Plan tells when a message to chat should be queued for so that the
// chat's messages arrive spaced out rather than all at once and then turned
// away one by one: the fan-out of five events to one chat queues them a
// second apart. It only spreads the work; Reserve still decides.
func (l *Limiter) Plan(ctx context.Context, channel, chat string, lim RateLimit) (time.Duration, error) {
	var jitter time.Duration
	if lim.Jitter > 0 {
		jitter = rand.N(lim.Jitter)
	}
	if lim.PerChat <= 0 {
		return jitter, nil
	}
	us, err := planScript.Run(ctx, l.rdb, []string{l.prefix + "rl:" + channel + ":plan:" + chat},
		append([]any{lim.PerChat.Microseconds()}, l.clockArgs()...)...).Int64()
	if err != nil {
		return 0, fmt.Errorf("rate limit plan: %w", err)
	}
	return time.Duration(us)*time.Microsecond + jitter, nil
}

func (l *Limiter) keys(channel, chat string) []string {
	return []string{l.prefix + "rl:" + channel, l.prefix + "rl:" + channel + ":chat:" + chat}
}

// Reserve asks for a slot to send one message to chat. When reserved, the
// message may go after wait; otherwise nothing was taken and the caller may
// ask again after wait, and byChat tells whether the chat's own spacing
// (rather than the overall rate) is what stands in the way.
func (l *Limiter) Reserve(ctx context.Context, channel, chat string, lim RateLimit, maxWait time.Duration) (wait time.Duration, reserved, byChat bool, err error) {
	every := int64(0)
	if lim.PerSecond > 0 {
		every = int64(float64(time.Second/time.Microsecond) / lim.PerSecond)
	}
	burst := max(lim.Burst, 1)
	tau := every * int64(burst-1)
	res, err := reserveScript.Run(ctx, l.rdb, l.keys(channel, chat),
		append([]any{every, tau, lim.PerChat.Microseconds(), maxWait.Microseconds()}, l.clockArgs()...)...).Int64Slice()
	if err != nil {
		return 0, false, false, fmt.Errorf("rate limit: %w", err)
	}
	if res[0] == 1 && l.OnGrant != nil && len(res) > 3 {
		l.OnGrant(Grant{Channel: channel, Chat: chat, At: time.UnixMicro(res[3])})
	}
	return time.Duration(res[1]) * time.Microsecond, res[0] == 1, res[2] == 1, nil
}

// Penalize keeps the chat silent for d: what the messenger asked for with a
// 429, so that the chat's other messages wait too instead of each earning
// its own refusal.
func (l *Limiter) Penalize(ctx context.Context, channel, chat string, d time.Duration) error {
	if err := penalizeScript.Run(ctx, l.rdb, l.keys(channel, chat)[1:], append([]any{d.Microseconds()}, l.clockArgs()...)...).Err(); err != nil {
		return fmt.Errorf("rate limit penalty: %w", err)
	}
	return nil
}

// Wait blocks until a slot for chat is reserved, for at most budget, or
// chatBudget when the chat's own spacing is what it waits for. It returns
// the time still to wait when a budget would run out first, so the caller
// can put the message back for later instead of holding a worker: a worker
// asleep for one chat's turn is a worker not sending to the others.
func (l *Limiter) Wait(ctx context.Context, channel, chat string, lim RateLimit, budget, chatBudget time.Duration) (later time.Duration, err error) {
	deadline := l.now().Add(budget)
	for {
		left := deadline.Sub(l.now())
		wait, reserved, byChat, err := l.Reserve(ctx, channel, chat, lim, max(left, 0))
		if err != nil {
			return 0, err
		}
		if !reserved && (wait > left || byChat && wait > chatBudget) {
			return wait, nil
		}
		if err := l.sleep(ctx, wait); err != nil {
			return 0, err
		}
		if reserved {
			return 0, nil
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
