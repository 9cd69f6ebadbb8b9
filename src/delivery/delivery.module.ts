import { Global, Module } from '@nestjs/common';
import { TokenSigner } from '../common/tokens';
import { MessageTokens } from '../tracking/message-tokens';
import { MailTransport } from './mail-transport';
import { MessageBuilder } from './message-builder';

@Global()
@Module({ providers: [MailTransport, MessageBuilder, MessageTokens, TokenSigner], exports: [MailTransport, MessageBuilder, MessageTokens, TokenSigner] })
export class DeliveryModule {}
