import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'seed playground',
  description: 'Chat with SEED-LLaMA: a model that sees and draws through SEED image codes.',
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  // Light and dark follow the system (the stylesheet switches on prefers-color-scheme).
  colorScheme: 'light dark',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
