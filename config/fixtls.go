package config

import (
	"crypto/tls"
	"fmt"
	"os"
)

// TLS for the FIX listener ([listen] fix_tls_cert, fix_tls_key).
//
// Validate checks only that the two keys come together: it does not touch
// the disk. FIXTLS reads the files when the venue starts (and `fxmatch
// config check` calls it too), so an unreadable or mismatched file is a
// refusal to start that names the key and the file, never a listener that
// quietly falls back to plain TCP.

func (c *Config) validateFIXTLS() error {
	l := c.Listen
	switch {
	case l.FIXTLSCert != "" && l.FIXTLSKey == "":
		return c.errf("listen.fix_tls_key", "", "missing: listen.fix_tls_cert %q needs its private key file in listen.fix_tls_key", l.FIXTLSCert)
	case l.FIXTLSKey != "" && l.FIXTLSCert == "":
		return c.errf("listen.fix_tls_cert", "", "missing: listen.fix_tls_key %q needs its certificate file in listen.fix_tls_cert", l.FIXTLSKey)
	}
	return nil
}

// FIXTLS returns the FIX listener's TLS configuration, or nil when the
// configuration has no fix_tls_cert/fix_tls_key (plain TCP). It reads both
// files; an error names the key and the file. TLS 1.2 is the minimum.
func (c *Config) FIXTLS() (*tls.Config, error) {
	l := c.Listen
	if l.FIXTLSCert == "" && l.FIXTLSKey == "" {
		return nil, nil
	}
	if err := c.validateFIXTLS(); err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(l.FIXTLSCert)
	if err != nil {
		return nil, c.errf("listen.fix_tls_cert", l.FIXTLSCert, "cannot read the certificate file: %v", err)
	}
	keyPEM, err := os.ReadFile(l.FIXTLSKey)
	if err != nil {
		return nil, c.errf("listen.fix_tls_key", l.FIXTLSKey, "cannot read the private key file: %v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, c.errf("listen.fix_tls_cert", l.FIXTLSCert, "%s and %s are not a PEM certificate and its private key: %v", l.FIXTLSCert, l.FIXTLSKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// FIXTLSSummary is the banner's word on FIX TLS.
func (c *Config) FIXTLSSummary() string {
	if c.Listen.FIXTLSCert == "" {
		return "plain TCP"
	}
	return fmt.Sprintf("TLS (certificate %s)", c.Listen.FIXTLSCert)
}
