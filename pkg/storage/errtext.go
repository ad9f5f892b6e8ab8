package storage

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/smithy-go"
	"google.golang.org/api/googleapi"
)

// maxStoreMessage bounds the part of a message that a store wrote.
const maxStoreMessage = 256

// SafeMessage is err's message as a status condition or an event may carry
// it: the store's error code and message, never a response body (Google's
// and Azure's errors print the body they received, which an endpoint can
// fill with anything), on one line, at most max bytes.
func SafeMessage(err error, max int) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var g *googleapi.Error
	if errors.As(err, &g) {
		short := fmt.Sprintf("HTTP %d", g.Code)
		if g.Message != "" {
			short += ": " + clip(g.Message, maxStoreMessage)
		}
		msg = strings.Replace(msg, g.Error(), short, 1)
	}
	var az *azcore.ResponseError
	if errors.As(err, &az) {
		msg = strings.Replace(msg, az.Error(), fmt.Sprintf("HTTP %d %s", az.StatusCode, clip(az.ErrorCode, 64)), 1)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if m := api.ErrorMessage(); len(m) > maxStoreMessage {
			msg = strings.Replace(msg, m, clip(m, maxStoreMessage), 1)
		}
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	return clip(strings.Join(strings.Fields(msg), " "), max)
}

// clip cuts s to at most max bytes at a rune boundary, marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	cut := max - len(mark)
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
