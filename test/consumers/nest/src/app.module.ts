import { Module } from '@nestjs/common';
import { TokenfetchModule } from '@tokenfetch/nestjs';
import { AppController } from './app.controller';
import { AppService } from './app.service';

@Module({
  imports: [TokenfetchModule.forRoot()], // API_BASE_URL, API_EMAIL, API_PASSWORD, API_ORG_ID
  controllers: [AppController],
  providers: [AppService],
})
export class AppModule {}
