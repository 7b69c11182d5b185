package users

import "testing"

// BenchmarkHashPassword measures the cost of the default argon2id
// parameters on this machine (the number to watch when tuning them).
func BenchmarkHashPassword(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
